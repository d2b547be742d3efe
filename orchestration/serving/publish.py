"""Publish the warehouse's ``marts`` and ``audit`` relations to ``serving/llm_margin.duckdb``.

The new file is built in a temporary file in the serving directory, checkpointed, closed and
fsynced, then swapped in with ``os.replace``. A reader holding the old file open keeps its inode
and its consistent old data; a reader that connects after the swap sees only the new file. Nothing
here waits for a reader: DuckDB readers lock the file they opened, and the publish never opens the
serving file itself (it reads a copy of it).

Only what changed is copied: the temporary file starts as a byte copy of the previous serving file,
and each table whose fingerprint (orchestration/serving/fingerprints.py) differs from the one the
previous publish recorded is copied again (or, for the big facts, only its changed partitions are
replaced); the others are kept. Every table's fingerprint is computed again from the new file, and
a kept or partly replaced table that does not match the warehouse makes the publish start over with
a full copy. The warehouse's big facts are compared by dbt's stamps, not by their rows
(fingerprints.py). A full copy is also made when there is no previous file, when it cannot be read
or has no fingerprints, when it was written by another DuckDB version, in another storage format or
with fingerprints of another version, or when the set of served tables changed.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from orchestration.serving.fingerprints import (
    FINGERPRINT_VERSION,
    Fingerprint,
    fingerprint,
    literal,
    part_predicate,
    qualified,
    quote,
    read_meta,
    row_count,
    write_meta,
)

SERVING_FILE_NAME = "llm_margin.duckdb"
# Every relation (tables and views) of these warehouse schemas becomes a table of the same schema
# and name in the serving copy: the marts for every question, audit for what was quarantined,
# how each landing file reconciled and what was restated (docs/serving.md).
SERVED_SCHEMAS = ("marts", "audit")
# DuckDB 1.0's storage format: DuckDB 0.10 to 2.x open it, and so do the DuckDB CLI, Superset's
# duckdb-engine, Evidence, DBeaver and the Node, Go and .NET bindings of the 1.x line.
STORAGE_VERSION = "v1.0.0"
# A table whose changed partitions hold more than this share of its rows is copied whole.
PARTIAL_COPY_MAX_SHARE = 0.5
# Every table is copied again at least this often, whatever the fingerprints say: what a
# fingerprint cannot see (a 64-bit hash collision, a damaged block of a kept table, which a
# publish does not read) is served for a day at most.
FULL_COPY_EVERY = timedelta(hours=24)


@dataclass(frozen=True)
class PublishedCopy:
    path: Path
    rows: dict[str, int]  # "<schema>.<table>" → rows
    copied: list[str] = field(default_factory=list)  # copied whole from the warehouse
    kept: list[str] = field(default_factory=list)  # unchanged: kept from the previous file
    # partly replaced: "<schema>.<table>" → the partition values whose rows were replaced
    replaced: dict[str, list[str | None]] = field(default_factory=dict)
    full_copy_reason: str | None = None  # why every table was copied, when it was

    @property
    def tables(self) -> list[str]:
        return sorted(self.rows)

    def metadata(self) -> dict:
        """What this publish copied and kept, with row counts: the serving asset's metadata."""
        return {
            "tables": len(self.rows),
            "total_rows": sum(self.rows.values()),
            "rows": self.rows,
            "full_copy": self.full_copy_reason is not None,
            "full_copy_reason": self.full_copy_reason or "",
            "copied": {name: self.rows[name] for name in self.copied},
            "kept": {name: self.rows[name] for name in self.kept},
            "partly_replaced": {
                name: {"rows": self.rows[name], "partitions_replaced": parts}
                for name, parts in self.replaced.items()
            },
        }


class _FullCopyNeeded(Exception):
    """The previous serving file cannot be the start of the new one; the message says why."""


def serving_file(serving_dir: Path) -> Path:
    return serving_dir / SERVING_FILE_NAME


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def served_relations(
    con: duckdb.DuckDBPyConnection, catalog: str, schemas: tuple[str, ...] = SERVED_SCHEMAS
) -> list[tuple[str, str]]:
    """Every relation (table or view) of ``schemas`` in the attached database ``catalog``, as
    ``(schema, name)`` in name order: what the serving copy holds, and what the PostgreSQL
    serving target publishes from it (orchestration/serving/postgres_publish.py)."""
    names = ", ".join(literal(s) for s in schemas)
    return con.execute(
        "select table_schema, table_name from information_schema.tables "
        f"where table_catalog = {literal(catalog)} and table_schema in ({names}) "
        "order by table_schema, table_name"
    ).fetchall()


def _served_names(con, catalog: str, schemas: tuple[str, ...]) -> list[str]:
    return [f"{schema}.{name}" for schema, name in served_relations(con, catalog, schemas)]


def _storage_version(con: duckdb.DuckDBPyConnection, catalog: str) -> str:
    tags = con.execute(
        "select tags from duckdb_databases() where database_name = ?", [catalog]
    ).fetchone()[0]
    return (tags or {}).get("storage_version", "unknown")


def _sync_comments(con, source: str, target: str, names: list[str]) -> None:
    """Give every served table and column of ``target`` the comment its relation has in
    ``source`` (none when it has none), so a kept table never carries an old description."""

    def comments(catalog: str) -> dict[tuple[str, ...], str | None]:
        found: dict[tuple[str, ...], str | None] = {}
        for schema, name, comment in con.execute(
            "select schema_name, table_name, comment from duckdb_tables() where database_name = ? "
            "union all select schema_name, view_name, comment from duckdb_views() "
            "where database_name = ?",
            [catalog, catalog],
        ).fetchall():
            found[(f"{schema}.{name}",)] = comment or None
        for schema, name, column, comment in con.execute(
            "select schema_name, table_name, column_name, comment from duckdb_columns() "
            "where database_name = ?",
            [catalog],
        ).fetchall():
            found[(f"{schema}.{name}", column)] = comment or None
        return found

    wanted, present = comments(source), comments(target)
    for key, comment in wanted.items():
        if key[0] not in names or present.get(key) == comment:
            continue
        value = "null" if comment is None else literal(comment)
        if len(key) == 1:
            con.execute(f"comment on table {qualified(target, key[0])} is {value}")
        else:
            con.execute(f"comment on column {qualified(target, key[0])}.{quote(key[1])} is {value}")


def _build(
    con: duckdb.DuckDBPyConnection,
    alias: str,
    schemas: tuple[str, ...],
    previous: dict[str, Fingerprint] | None,
) -> tuple[
    dict[str, Fingerprint],
    list[str],
    list[str],
    dict[str, list[str | None]],
]:
    """Fill the attached file ``serving`` from the warehouse attached as ``alias``: every
    relation when ``previous`` is None, else only what differs from ``previous``. Returns the
    warehouse's fingerprints and the tables copied, kept and partly replaced."""
    names = _served_names(con, alias, schemas)
    if previous is not None:
        held = _served_names(con, "serving", schemas)
        added, removed = set(names) - set(previous), set(previous) - set(names)
        if added or removed:
            raise _FullCopyNeeded(
                f"the served tables changed: added {sorted(added)}, removed {sorted(removed)}"
            )
        if set(held) != set(previous):
            raise _FullCopyNeeded("the previous file holds other tables than it records")
    for schema in schemas:
        con.execute(f"create schema if not exists serving.{quote(schema)}")
    expected: dict[str, Fingerprint] = {}
    copied: list[str] = []
    kept: list[str] = []
    replaced: dict[str, list[str | None]] = {}
    for name in names:
        source, target = qualified(alias, name), qualified("serving", name)
        if previous is None:
            con.execute(f"create table {target} as select * from {source}")
            copied.append(name)
            continue
        before = previous[name]
        now = fingerprint(con, alias, name)
        expected[name] = now
        if now.columns != before.columns or now.partition_column != before.partition_column:
            con.execute(f"create or replace table {target} as select * from {source}")
            copied.append(name)
            continue
        changed = now.changed_parts(before)
        if not changed:
            kept.append(name)
            continue
        changed_rows = sum(now.parts.get(part, (0, 0))[0] for part in changed)
        if now.partition_column is None or changed_rows > PARTIAL_COPY_MAX_SHARE * now.rows:
            con.execute(f"create or replace table {target} as select * from {source}")
            copied.append(name)
            continue
        where = part_predicate(now.partition_column, changed)
        con.execute(f"delete from {target} where {where}")
        con.execute(f"insert into {target} select * from {source} where {where}")
        replaced[name] = changed
    return expected, copied, kept, replaced


def _checked_prints(
    con: duckdb.DuckDBPyConnection,
    expected: dict[str, Fingerprint],
    copied: list[str],
    kept: list[str],
    replaced: dict[str, list[str | None]],
) -> dict[str, Fingerprint]:
    """The fingerprints of the new file's tables, checked where they were not copied whole: a
    kept table has the row count its recorded fingerprint says, a partly replaced table has the
    warehouse's rows in the partitions replaced and its row count. A copied table's fingerprint
    is computed from the copy (a view over the lake is what it was when copied)."""
    prints = {name: fingerprint(con, "serving", name) for name in copied}
    wrong = [name for name in kept if row_count(con, "serving", name) != expected[name].rows]
    for name, parts in replaced.items():
        now = fingerprint(con, "serving", name, only_parts=parts)
        wanted = {
            part: expected[name].parts[part] for part in parts if part in expected[name].parts
        }
        if now.parts != wanted or row_count(con, "serving", name) != expected[name].rows:
            wrong.append(name)
    if wrong:
        raise _FullCopyNeeded(
            f"tables not copied whole differ from the warehouse: {', '.join(wrong)}"
        )
    return {**{name: expected[name] for name in [*kept, *replaced]}, **prints}


def _publish_into(
    target: Path, warehouse: Path, schemas: tuple[str, ...], from_previous: bool
) -> PublishedCopy:
    with duckdb.connect() as con:
        if from_previous:
            try:
                con.execute(f"attach {literal(str(target))} as serving")
                version = _storage_version(con, "serving")
                if version.rstrip("+") != STORAGE_VERSION:
                    raise _FullCopyNeeded(f"the previous file's storage version is {version}")
                recorded, previous = read_meta(con, "serving")
            except duckdb.Error as error:
                raise _FullCopyNeeded(f"the previous file cannot be read: {error}") from error
            if recorded["duckdb_version"] != duckdb.__version__:
                raise _FullCopyNeeded(
                    f"the previous file was fingerprinted by DuckDB {recorded['duckdb_version']}"
                )
            if recorded["fingerprint_version"] != FINGERPRINT_VERSION:
                # Copying the stamped facts whole into the old file would take longer than a
                # full copy and leave their old blocks in it (twice the size until the next one).
                raise _FullCopyNeeded(
                    f"the previous file's fingerprints are of version "
                    f"{recorded['fingerprint_version']}, this publish computes version "
                    f"{FINGERPRINT_VERSION}"
                )
            full_copy_at = recorded["full_copy_at"]
            if time.time() - full_copy_at >= FULL_COPY_EVERY.total_seconds():
                made = datetime.fromtimestamp(full_copy_at, UTC).isoformat(timespec="seconds")
                raise _FullCopyNeeded(
                    f"the last full copy was made at {made}, more than {FULL_COPY_EVERY} ago"
                )
        else:
            # Written in the oldest storage format that holds what the marts need, so every
            # DuckDB client a BI tool ships opens it, not only the DuckDB that wrote it.
            con.execute(
                f"attach {literal(str(target))} as serving "
                f"(storage_version {literal(STORAGE_VERSION)})"
            )
            previous = None
            full_copy_at = None
        # Attached under its own file stem: the warehouse's views name their inputs by catalog.
        alias = warehouse.stem
        con.execute(f"attach {literal(str(warehouse))} as {quote(alias)} (read_only)")
        con.execute("use serving")
        con.execute("begin transaction")  # one snapshot of the warehouse for every table
        expected, copied, kept, replaced = _build(con, alias, schemas, previous)
        con.execute("commit")
        names = _served_names(con, "serving", schemas)
        if previous is None:
            prints = {name: fingerprint(con, "serving", name) for name in names}
        else:
            prints = _checked_prints(con, expected, copied, kept, replaced)
        _sync_comments(con, alias, "serving", names)
        write_meta(
            con,
            "serving",
            prints,
            STORAGE_VERSION,
            {"copied": copied, "kept": kept, "replaced": replaced},
            full_copy_at,
        )
        con.execute(f"detach {quote(alias)}")
        con.execute("checkpoint serving")
        con.execute("use memory")
        con.execute("detach serving")
    return PublishedCopy(
        target,
        {name: fp.rows for name, fp in prints.items()},
        copied=copied,
        kept=kept,
        replaced=replaced,
    )


def publish_serving_copy(
    warehouse: Path,
    serving_dir: Path,
    schemas: tuple[str, ...] = SERVED_SCHEMAS,
    *,
    log: Callable[[str], None] | None = None,
) -> PublishedCopy:
    """Publish every relation of ``schemas`` from ``warehouse`` as a new serving file, swapped in
    atomically: starting from the previous file and copying only what changed when it can,
    copying everything otherwise.

    On any failure the temporary file is removed and the previous serving file is left as it was.
    """
    if not warehouse.exists():
        raise FileNotFoundError(f"{warehouse} does not exist: build the warehouse first")
    serving_dir.mkdir(parents=True, exist_ok=True)
    final = serving_file(serving_dir)
    # Hidden and unique: never mistaken for the serving file, two publishes never share it.
    temp = serving_dir / f".{SERVING_FILE_NAME}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    reason = "there is no previous serving file"
    try:
        copy = None
        if final.exists() and not _wal(final).exists():
            try:
                shutil.copyfile(final, temp)  # a new inode: the readers' file is never touched
                copy = _publish_into(temp, warehouse, schemas, from_previous=True)
            except _FullCopyNeeded as why:
                reason = str(why)
            except duckdb.Error as error:  # e.g. a damaged block of the previous file
                reason = f"updating the previous file failed: {error}"
        elif final.exists():
            reason = f"{_wal(final).name} lies beside the previous file"
        if copy is None:
            temp.unlink(missing_ok=True)
            _wal(temp).unlink(missing_ok=True)
            if log is not None:
                log(f"full copy: {reason}")
            copy = _publish_into(temp, warehouse, schemas, from_previous=False)
            copy = PublishedCopy(temp, copy.rows, copied=copy.copied, full_copy_reason=reason)
        if _wal(temp).exists():  # checkpoint + close folds the WAL in; make sure of it
            raise RuntimeError(f"{_wal(temp)} survived the checkpoint; not publishing")
        temp.chmod(0o444)  # a copy to read: nobody writes to it in place
        _fsync(temp)
        # A WAL beside the final name would be replayed into the new file by the next reader.
        _wal(final).unlink(missing_ok=True)
        os.replace(temp, final)
        _fsync(serving_dir)  # the rename itself is durable
    except BaseException:
        temp.unlink(missing_ok=True)
        _wal(temp).unlink(missing_ok=True)
        raise
    return PublishedCopy(
        final,
        copy.rows,
        copied=copy.copied,
        kept=copy.kept,
        replaced=copy.replaced,
        full_copy_reason=copy.full_copy_reason,
    )
