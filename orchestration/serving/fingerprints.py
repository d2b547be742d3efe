"""Content fingerprints of the served tables: what lets a publish keep a table of the previous
serving file instead of copying it again (docs/serving.md, "What a publish copies").

A table's fingerprint is its column names and types, and per partition (one partition for a
table without a partition column) the row count and the sum, as a 128-bit integer, of a 64-bit
hash of every row (DuckDB's ``hash`` of the whole row, mixed once more so that values swapped
between rows do not cancel out). A sum does not depend on row order, so the same rows written in
another order have the same fingerprint. Any change of a type, a column, a row count or a value
changes it, short of a 64-bit hash collision. The hash is DuckDB's: a fingerprint is only
compared with one computed by the same DuckDB version (otherwise everything is copied).

A partitioned table that carries dbt's ``rebuilt_at`` stamp is fingerprinted by its stamps
instead of its rows: per partition, the row count and the latest ``rebuilt_at`` (its content is a
64-bit hash of that stamp's text). Only the dbt build writes these tables, and every row it
writes is stamped with its run's start: a partition the build changed has a new latest stamp (it
wrote rows there) or another row count (it only deleted some), so hashing its rows would tell a
publish nothing more, and it cost seconds per publish at 10M events (BENCHMARKS.md). A
partition whose rows carry no stamp at all is hashed row by row, as an unstamped table is. What
this cannot see (a partition rewritten outside dbt with the same count and stamps) is served
until the next full copy, at most ``FULL_COPY_EVERY`` later (publish.py).

The serving file records the fingerprints of its own tables in ``_serving.table_fingerprints``,
outside the served schemas (BI tools see it, the PostgreSQL target does not publish it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import duckdb

from orchestration.sql_text import literal, quote  # noqa: F401 (imported from here too)

META_SCHEMA = "_serving"
FINGERPRINT_TABLE = "table_fingerprints"
PUBLISH_TABLE = "publish"

# The big fact tables are fingerprinted per partition, the partitions their incremental models
# rebuild: a run that adds a day replaces those days' rows in the copy, not the whole table.
# Every other table is one partition. Soundness does not depend on the column: every row
# belongs to exactly one partition value (NULL included).
PARTITION_COLUMNS = {
    "marts.fct_llm_calls": "event_date",
    "marts.fct_tasks": "task_date",
}
# dbt's bookkeeping column (macros/cross_db/incremental.sql): when the build last wrote a row.
REBUILT_AT = "rebuilt_at"
# How the fingerprints in a file were computed, recorded with them: 2 since stamped facts are
# fingerprinted by their stamps (1: by a hash of every row, not recorded). A file whose
# fingerprints are of another version cannot be compared with, so it is replaced by a full copy.
FINGERPRINT_VERSION = 2


@dataclass(frozen=True)
class Fingerprint:
    columns: str  # JSON list of [name, type], in column order
    partition_column: str | None
    parts: dict[str | None, tuple[int, int]]  # partition value as text → (rows, content hash)
    # partition value → its latest rebuilt_at as text (partitioned tables stamped by dbt only)
    stamps: dict[str | None, str | None] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(rows for rows, _ in self.parts.values())

    def changed_parts(self, other: Fingerprint) -> list[str | None]:
        """The partition values whose rows differ between ``self`` and ``other``."""
        keys = set(self.parts) | set(other.parts)
        changed = [key for key in keys if self.parts.get(key) != other.parts.get(key)]
        return sorted(changed, key=lambda key: (key is None, key or ""))


def qualified(catalog: str, name: str) -> str:
    schema, table = name.split(".", 1)
    return f"{quote(catalog)}.{quote(schema)}.{quote(table)}"


def column_signature(con: duckdb.DuckDBPyConnection, catalog: str, name: str) -> str:
    schema, table = name.split(".", 1)
    columns = con.execute(
        "select column_name, data_type from information_schema.columns where table_catalog = ? "
        "and table_schema = ? and table_name = ? order by ordinal_position",
        [catalog, schema, table],
    ).fetchall()
    return json.dumps([list(column) for column in columns])


def part_predicate(column: str, values: list[str | None]) -> str:
    """SQL that selects the rows of the partitions ``values`` (text, None for NULL)."""
    terms = []
    present = [value for value in values if value is not None]
    if present:
        terms.append(f"{quote(column)}::varchar in ({', '.join(literal(v) for v in present)})")
    if len(present) < len(values):
        terms.append(f"{quote(column)} is null")
    return "(" + " or ".join(terms) + ")" if terms else "false"


def fingerprint(
    con: duckdb.DuckDBPyConnection,
    catalog: str,
    name: str,
    only_parts: list[str | None] | None = None,
) -> Fingerprint:
    """The fingerprint of relation ``name`` ("schema.table") of the attached database
    ``catalog`` (only of partitions ``only_parts`` when given): by its stamps for a table
    ``_stamped`` by dbt, by a hash of every row otherwise."""
    columns = column_signature(con, catalog, name)
    names = [column for column, _ in json.loads(columns)]
    partition = PARTITION_COLUMNS.get(name)
    if partition not in names:
        partition = None
    where = ""
    if only_parts is not None and partition is not None:
        where = "where " + part_predicate(partition, only_parts)
    if not _stamped(partition, names):
        return Fingerprint(columns, partition, _hashed_parts(con, catalog, name, partition, where))
    found = con.execute(
        f"select {quote(partition)}::varchar, count(*), max({quote(REBUILT_AT)})::varchar "
        f"from {qualified(catalog, name)} {where} group by all"
    ).fetchall()
    parts = {
        value: (int(count), stamp_content(latest))
        for value, count, latest in found
        if latest is not None
    }
    unstamped = [value for value, _, latest in found if latest is None]
    if unstamped:
        where = "where " + part_predicate(partition, unstamped)
        parts.update(_hashed_parts(con, catalog, name, partition, where))
    stamps = {value: latest for value, _, latest in found}
    return Fingerprint(columns, partition, parts, stamps)


def _hashed_parts(
    con: duckdb.DuckDBPyConnection, catalog: str, name: str, partition: str | None, where: str
) -> dict[str | None, tuple[int, int]]:
    """Per partition (the one partition None without a partition column), the row count and the
    sum of a hash of every row, over the rows ``where`` selects."""
    part = quote(partition) if partition else "null"
    rows = con.execute(
        f"select {part}::varchar, count(*), coalesce(sum(hash(hash(row_))), 0)::hugeint "
        f"from {qualified(catalog, name)} as row_ {where} group by all"
    ).fetchall()
    return {value: (int(count), int(content)) for value, count, content in rows}


def stamp_content(latest: str) -> int:
    """The content recorded for a stamped partition: a 64-bit hash of its latest stamp's text
    (blake2b, the same in every process, unlike Python's ``hash``)."""
    return int.from_bytes(hashlib.blake2b(latest.encode(), digest_size=8).digest(), "big")


def _stamped(partition: str | None, names: list[str]) -> bool:
    return partition is not None and REBUILT_AT in names


def row_count(con: duckdb.DuckDBPyConnection, catalog: str, name: str) -> int:
    return con.execute(f"select count(*) from {qualified(catalog, name)}").fetchone()[0]


def create_meta(con: duckdb.DuckDBPyConnection, catalog: str) -> None:
    con.execute(f"create schema if not exists {quote(catalog)}.{META_SCHEMA}")
    con.execute(
        f"create or replace table {quote(catalog)}.{META_SCHEMA}.{FINGERPRINT_TABLE} ("
        "table_name varchar not null, columns varchar not null, partition_column varchar, "
        "partition_value varchar, rows bigint not null, content_hash hugeint not null, "
        "latest_rebuilt_at varchar)"
    )
    con.execute(
        f"create or replace table {quote(catalog)}.{META_SCHEMA}.{PUBLISH_TABLE} ("
        "duckdb_version varchar not null, storage_version varchar not null, "
        "published_at timestamp with time zone not null, "
        "full_copy_at timestamp with time zone not null, copied varchar not null, "
        "fingerprint_version integer not null)"
    )


def write_meta(
    con: duckdb.DuckDBPyConnection,
    catalog: str,
    prints: dict[str, Fingerprint],
    storage_version: str,
    copied: dict,
    full_copy_at: float | None,
) -> None:
    """Record ``prints`` (the file's own tables) and what this publish did, replacing what the
    previous publish recorded. ``full_copy_at``: when the last full copy was made, in seconds since
    1970 (None: now)."""
    create_meta(con, catalog)
    rows = [
        (name, fp.columns, fp.partition_column, value, count, content, fp.stamps.get(value))
        for name, fp in sorted(prints.items())
        for value, (count, content) in fp.parts.items()
    ]
    if rows:  # one statement, the columns as lists (executemany costs a statement per row)
        columns = [list(column) for column in zip(*rows, strict=True)]
        columns[5] = [str(content) for content in columns[5]]
        con.execute(
            f"insert into {quote(catalog)}.{META_SCHEMA}.{FINGERPRINT_TABLE} select "
            "unnest(?::varchar[]), unnest(?::varchar[]), unnest(?::varchar[]), "
            "unnest(?::varchar[]), unnest(?::bigint[]), unnest(?::varchar[])::hugeint, "
            "unnest(?::varchar[])",
            columns,
        )
    con.execute(
        f"insert into {quote(catalog)}.{META_SCHEMA}.{PUBLISH_TABLE} "
        "values (?, ?, current_timestamp, coalesce(to_timestamp(?), current_timestamp), ?, ?)",
        [
            duckdb.__version__,
            storage_version,
            full_copy_at,
            json.dumps(copied, sort_keys=True),
            FINGERPRINT_VERSION,
        ],
    )


def read_meta(con: duckdb.DuckDBPyConnection, catalog: str) -> tuple[dict, dict[str, Fingerprint]]:
    """What the previous publish recorded in the file attached as ``catalog``: its publish row
    (DuckDB and storage versions) and the fingerprints of its tables. Raises a duckdb.Error
    when the file has none."""
    has_version = con.execute(
        "select count(*) from information_schema.columns where table_catalog = ? "
        "and table_schema = ? and table_name = ? and column_name = 'fingerprint_version'",
        [catalog, META_SCHEMA, PUBLISH_TABLE],
    ).fetchone()[0]
    version, storage, full_copy_at, fingerprint_version = con.execute(
        "select duckdb_version, storage_version, epoch(full_copy_at), "
        f"{'fingerprint_version' if has_version else '1'} "
        f"from {quote(catalog)}.{META_SCHEMA}.{PUBLISH_TABLE}"
    ).fetchone()
    found: dict[str, Fingerprint] = {}
    records = con.execute(
        "select table_name, columns, partition_column, partition_value, rows, "
        "content_hash::varchar, latest_rebuilt_at "
        f"from {quote(catalog)}.{META_SCHEMA}.{FINGERPRINT_TABLE}"
    ).fetchall()
    grouped: dict[str, tuple[str, str | None, dict, dict]] = {}
    for name, columns, partition, value, count, content, latest in records:
        _, _, parts, stamps = grouped.setdefault(name, (columns, partition, {}, {}))
        parts[value] = (int(count), int(content))
        if latest is not None:
            stamps[value] = latest
    for name, (columns, partition, parts, stamps) in grouped.items():
        found[name] = Fingerprint(columns, partition, parts, stamps)
    recorded = {
        "duckdb_version": version,
        "storage_version": storage,
        "full_copy_at": full_copy_at,
        "fingerprint_version": fingerprint_version,
    }
    return recorded, found
