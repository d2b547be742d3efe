"""Publish the serving copy's ``marts`` and ``audit`` tables into a PostgreSQL database, for BI
tools that speak only PostgreSQL (docs/serving.md, "The PostgreSQL serving target").

One transaction does everything, so a reader never sees half a build:

1. ``pg_advisory_xact_lock``: two publishes into one database take turns;
2. every table of the serving copy is created in a fresh schema (``marts__llm_margin_load``,
   ``audit__llm_margin_load``) and filled with ``COPY ... FROM STDIN (FORMAT csv, FREEZE)``
   from CSV that DuckDB writes (one table at a time, into a hidden work directory beside the
   serving copy); the rows PostgreSQL took are checked against the rows DuckDB wrote; table and
   column comments come from the dbt descriptions; each table is analyzed;
3. the reader role gets USAGE on the new schemas and SELECT on every table in them;
4. the swap, under a savepoint: the previous build's tables and schemas are dropped (their
   ACCESS EXCLUSIVE locks wait for readers still inside a transaction that read them, a few
   seconds at a time, retried up to a limit), and the new schemas are renamed ``marts`` and
   ``audit``;
5. commit. A failure at any step rolls everything back: the previous build stays as it was.

The source is the DuckDB serving copy, not the warehouse: it is the same build every DuckDB
reader sees, its views are already tables, and reading it holds no warehouse lock, so a slow
PostgreSQL never holds up the next build. Schemas that llm-margin did not publish (no marker in
their comment) are never dropped.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from orchestration.serving.descriptions import Descriptions, TableDescription
from orchestration.serving.postgres_types import ColumnPlan, column_plan
from orchestration.serving.publish import SERVED_SCHEMAS, served_relations
from orchestration.settings import DEFAULT_SERVING_POSTGRES_READER
from orchestration.sql_text import literal, quote

DEFAULT_READER_ROLE = DEFAULT_SERVING_POSTGRES_READER
# Every published schema's comment starts with this; a schema without it is not ours to drop.
SCHEMA_MARKER = "llm-margin serving copy"
LOAD_SUFFIX = "__llm_margin_load"
# pg_advisory_xact_lock key of the publish (any fixed bigint; "llm-margin" in ASCII).
ADVISORY_LOCK_KEY = 0x6C6C6D2D6D617267
# The swap waits for readers of the previous build a few seconds at a time (new readers queue
# behind a waiting ACCESS EXCLUSIVE lock, so it must not wait long at once), then pauses.
SWAP_LOCK_TIMEOUT_MS = 2000
SWAP_PAUSE_S = 1.0
DEFAULT_SWAP_WAIT_S = 300.0
COPY_CHUNK_BYTES = 1 << 20
APPLICATION_NAME = "llm-margin serving publish"


class PostgresPublishError(RuntimeError):
    """The publish could not complete; nothing was changed in the database. Says why."""


@dataclass(frozen=True)
class PublishedToPostgres:
    database: str  # "<dbname> on <host>:<port> as <user>": the URL without its password
    rows: dict[str, int]  # "<schema>.<table>" → rows
    reader_role: str
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # table → column → type

    @property
    def tables(self) -> list[str]:
        return sorted(self.rows)


def describe_url(url: str) -> str:
    """Where a URL points, without its password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError as error:
        raise PostgresPublishError(f"not a PostgreSQL connection URL: {error}") from None
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    return f"{parts.get('dbname') or '(default database)'} on {host}:{port} as {parts.get('user') or '(default user)'}"


def publish_to_postgres(
    source: Path,
    url: str,
    *,
    reader_role: str = DEFAULT_READER_ROLE,
    schemas: tuple[str, ...] = SERVED_SCHEMAS,
    descriptions: Descriptions | None = None,
    log: Callable[[str], None] = print,
    swap_wait_s: float = DEFAULT_SWAP_WAIT_S,
) -> PublishedToPostgres:
    """Replace ``schemas`` in the PostgreSQL database at ``url`` by the tables of the DuckDB
    file ``source`` (the serving copy), in one transaction; see the module docstring."""
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist: publish the serving copy first")
    where = describe_url(url)
    descriptions = descriptions or {}
    started = time.monotonic()
    try:
        conn = psycopg.connect(url, application_name=APPLICATION_NAME, connect_timeout=30)
    except psycopg.Error as error:
        raise PostgresPublishError(f"cannot connect to PostgreSQL ({where}): {error}") from error
    with conn:  # commits on success; rolls back on any error
        cur = conn.cursor()
        cur.execute("select pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        for schema in schemas:
            _check_ours(cur, schema)
        _ensure_reader_role(cur, reader_role)
        published_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        rows, columns = _load(cur, source, schemas, descriptions, published_at, log)
        role = sql.Identifier(reader_role)
        for schema in schemas:
            load = sql.Identifier(schema + LOAD_SUFFIX)
            cur.execute(sql.SQL("grant usage on schema {} to {}").format(load, role))
            cur.execute(sql.SQL("grant select on all tables in schema {} to {}").format(load, role))
        _swap(cur, schemas, swap_wait_s, log)
    conn.close()
    log(
        f"postgres: published {len(rows)} tables, {sum(rows.values()):,} rows to {where} "
        f"in {time.monotonic() - started:,.1f} s; readable by role {reader_role}"
    )
    return PublishedToPostgres(where, rows, reader_role, columns)


# --- steps -----------------------------------------------------------------------------------


def _check_ours(cur: psycopg.Cursor, schema: str) -> None:
    comment = cur.execute(
        "select coalesce(obj_description(oid, 'pg_namespace'), '') from pg_namespace "
        "where nspname = %s",
        [schema],
    ).fetchone()
    if comment is not None and not comment[0].startswith(SCHEMA_MARKER):
        raise PostgresPublishError(
            f"schema {schema!r} exists in the target database but was not published by "
            f"llm-margin (its comment does not start with {SCHEMA_MARKER!r}); llm-margin replaces "
            "the whole schema on every build, so it will not touch it. Point "
            "LLM_MARGIN_SERVING_POSTGRES_URL at a database of its own, or drop the schema"
        )


def _ensure_reader_role(cur: psycopg.Cursor, role: str) -> None:
    if cur.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone():
        return
    may_create = cur.execute(
        "select rolsuper or rolcreaterole from pg_roles where rolname = current_user"
    ).fetchone()
    if not (may_create and may_create[0]):
        user = cur.execute("select current_user").fetchone()[0]
        raise PostgresPublishError(
            f"the reader role {role!r} does not exist and {user!r} may not create roles; create "
            f"it once as a superuser: CREATE ROLE {role} NOLOGIN;"
        )
    cur.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))


def _load(
    cur: psycopg.Cursor,
    source: Path,
    schemas: tuple[str, ...],
    descriptions: Mapping[tuple[str, str], TableDescription],
    published_at: str,
    log: Callable[[str], None],
) -> tuple[dict[str, int], dict[str, dict[str, str]]]:
    rows: dict[str, int] = {}
    types: dict[str, dict[str, str]] = {}
    for schema in schemas:
        load = sql.Identifier(schema + LOAD_SUFFIX)
        cur.execute(sql.SQL("create schema {}").format(load))
        comment = (
            f"{SCHEMA_MARKER} of the warehouse schema {schema}, published {published_at}; "
            "replaced whole by every build (docs/serving.md)"
        )
        cur.execute(sql.SQL("comment on schema {} is {}").format(load, sql.Literal(comment)))
    # A hidden work directory beside the serving copy: one table's CSV at a time.
    with (
        duckdb.connect(str(source), read_only=True) as con,
        tempfile.TemporaryDirectory(dir=source.parent, prefix=".postgres-publish-") as work,
    ):
        con.execute("set TimeZone = 'UTC'")  # timestamptz written with +00
        catalog = con.execute("select current_database()").fetchone()[0]
        for schema, table in served_relations(con, catalog, schemas):
            started = time.monotonic()
            plans = [
                column_plan(name, data_type)
                for name, data_type in con.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_catalog = ? and table_schema = ? and table_name = ? "
                    "order by ordinal_position",
                    [catalog, schema, table],
                ).fetchall()
            ]
            target = sql.Identifier(schema + LOAD_SUFFIX, table)
            cur.execute(
                sql.SQL("create table {} ({})").format(
                    target,
                    sql.SQL(", ").join(
                        sql.SQL("{} {}").format(sql.Identifier(p.name), sql.SQL(p.postgres_type))
                        for p in plans
                    ),
                )
            )
            csv = Path(work) / "table.csv"
            written = _write_csv(con, schema, table, plans, csv)
            try:
                copied = _copy(cur, target, plans, csv)
            except psycopg.DataError as error:
                raise PostgresPublishError(
                    f"{schema}.{table}: PostgreSQL refused a value of this table ({error}); "
                    "nothing was changed, the previous build stays"
                ) from error
            csv.unlink()
            if copied != written:
                raise PostgresPublishError(
                    f"{schema}.{table}: DuckDB wrote {written:,} rows but PostgreSQL took {copied:,}"
                )
            _comment(cur, schema + LOAD_SUFFIX, table, plans, descriptions.get((schema, table)))
            cur.execute(sql.SQL("analyze {}").format(target))
            rows[f"{schema}.{table}"] = copied
            types[f"{schema}.{table}"] = {p.name: p.postgres_type for p in plans}
            log(
                f"postgres: {schema}.{table}: {copied:,} rows ({time.monotonic() - started:,.1f} s)"
            )
    return rows, types


def _write_csv(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, plans: list[ColumnPlan], csv: Path
) -> int:
    selected = ", ".join(f"{p.select} as {quote(p.name)}" for p in plans)
    relation = f"{quote(schema)}.{quote(table)}"
    # Every value quoted: an unquoted \. alone on a line would end PostgreSQL's COPY; NULL stays
    # an unquoted empty field, the empty string a quoted one.
    result = con.execute(
        f"copy (select {selected} from {relation}) to {literal(csv)} "
        "(format csv, header false, force_quote *)"
    ).fetchone()
    return int(result[0])


def _copy(cur: psycopg.Cursor, target: sql.Composed, plans: list[ColumnPlan], csv: Path) -> int:
    statement = sql.SQL("copy {} ({}) from stdin (format csv, freeze)").format(
        target, sql.SQL(", ").join(sql.Identifier(p.name) for p in plans)
    )
    with cur.copy(statement) as copy, open(csv, "rb") as handle:
        while chunk := handle.read(COPY_CHUNK_BYTES):
            copy.write(chunk)
    return cur.rowcount


def _comment(
    cur: psycopg.Cursor,
    schema: str,
    table: str,
    plans: list[ColumnPlan],
    description: TableDescription | None,
) -> None:
    if description is None:
        return
    target = sql.Identifier(schema, table)
    if description.description:
        cur.execute(
            sql.SQL("comment on table {} is {}").format(
                target, sql.Literal(description.description)
            )
        )
    for plan in plans:
        text = description.columns.get(plan.name.lower())
        if text:
            column = sql.Identifier(schema, table, plan.name)
            cur.execute(sql.SQL("comment on column {} is {}").format(column, sql.Literal(text)))


def _swap(
    cur: psycopg.Cursor, schemas: tuple[str, ...], swap_wait_s: float, log: Callable[[str], None]
) -> None:
    """Drop the previous build and rename the new schemas into place, under a savepoint; on a
    lock timeout or deadlock with a reader, roll back to the savepoint, pause, try again."""
    cur.execute(
        sql.SQL("set local lock_timeout = {}").format(sql.Literal(f"{SWAP_LOCK_TIMEOUT_MS}ms"))
    )
    deadline = time.monotonic() + swap_wait_s
    while True:
        cur.execute("savepoint llm_margin_swap")
        try:
            for schema in schemas:
                _drop_previous(cur, schema)
            for schema in schemas:
                cur.execute(
                    sql.SQL("alter schema {} rename to {}").format(
                        sql.Identifier(schema + LOAD_SUFFIX), sql.Identifier(schema)
                    )
                )
            cur.execute("release savepoint llm_margin_swap")
            return
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected) as error:
            cur.execute("rollback to savepoint llm_margin_swap")
            readers = _readers(cur, schemas)
            if time.monotonic() >= deadline:
                raise PostgresPublishError(
                    f"gave up replacing the previous build after {swap_wait_s:,.0f} s: sessions "
                    f"inside a transaction that read it did not end ({readers or 'none seen'}); "
                    "nothing was changed. Readers that hold a transaction open (idle in "
                    "transaction) block the swap: make them commit or set "
                    "idle_in_transaction_session_timeout for the reader role"
                ) from error
            log(f"postgres: waiting for readers of the previous build to finish: {readers}")
            time.sleep(SWAP_PAUSE_S)


def _drop_previous(cur: psycopg.Cursor, schema: str) -> None:
    tables = [
        row[0]
        for row in cur.execute(
            "select tablename from pg_tables where schemaname = %s order by tablename", [schema]
        ).fetchall()
    ]
    try:
        if tables:
            cur.execute(
                sql.SQL("drop table {}").format(
                    sql.SQL(", ").join(sql.Identifier(schema, t) for t in tables)
                )
            )
        cur.execute(sql.SQL("drop schema if exists {}").format(sql.Identifier(schema)))
    except psycopg.errors.DependentObjectsStillExist as error:
        detail = error.diag.message_detail or ""
        raise PostgresPublishError(
            f"cannot replace schema {schema!r}: objects llm-margin did not publish depend on it "
            f"({detail.replace(chr(10), '; ')}). llm-margin drops only what it published; drop "
            "or move those objects (views over the marts belong in the BI tool or in a schema "
            "rebuilt after each publish); nothing was changed"
        ) from error


def _readers(cur: psycopg.Cursor, schemas: tuple[str, ...]) -> str:
    """The sessions holding locks on the previous build's tables, for the log and the error."""
    found = cur.execute(
        """
        select distinct a.pid, a.usename, a.application_name, a.state,
               extract(epoch from now() - a.xact_start)::bigint
        from pg_locks as l
        join pg_class as c on c.oid = l.relation
        join pg_namespace as n on n.oid = c.relnamespace
        join pg_stat_activity as a on a.pid = l.pid
        where n.nspname = any(%s) and l.granted and a.pid <> pg_backend_pid()
        order by 1
        """,
        [list(schemas)],
    ).fetchall()
    return "; ".join(
        f"pid {pid} user {user} application {app or '-'} {state}, in a transaction for {age} s"
        for pid, user, app, state, age in found
    )
