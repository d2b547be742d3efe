"""Content fingerprints of the served tables: what lets a publish keep a table of the previous
serving file instead of copying it again (docs/serving.md, "What a publish copies").

A table's fingerprint is its column names and types, and per partition (one partition for a
table without a partition column) the row count and the sum, as a 128-bit integer, of a 64-bit
hash of every row (DuckDB's ``hash`` of the whole row, mixed once more so that values swapped
between rows do not cancel out). A sum does not depend on row order, so the same rows written in
another order have the same fingerprint. Any change of a type, a column, a row count or a value
changes it, short of a 64-bit hash collision. The hash is DuckDB's: a fingerprint is only
compared with one computed by the same DuckDB version (otherwise everything is copied).

A partitioned table that carries dbt's ``rebuilt_at`` stamp also records, per partition, its
latest ``rebuilt_at``. The next publish hashes again only the partitions whose row count or latest
stamp differ from the recorded ones (``refreshed_fingerprint``), and keeps the recorded hash of the
others: only the dbt build writes these tables, and every row it writes is stamped with its run's
start. What this cannot see (a partition rewritten outside dbt with the same count and stamps) is
served until the next full copy, at most ``FULL_COPY_EVERY`` later (publish.py).

The serving file records the fingerprints of its own tables in ``_serving.table_fingerprints``,
outside the served schemas (BI tools see it, the PostgreSQL target does not publish it).
"""

from __future__ import annotations

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
    ``catalog``, computed from its rows (only from partitions ``only_parts`` when given)."""
    columns = column_signature(con, catalog, name)
    names = [column for column, _ in json.loads(columns)]
    partition = PARTITION_COLUMNS.get(name)
    if partition not in names:
        partition = None
    part = quote(partition) if partition else "null"
    stamp = f"max({quote(REBUILT_AT)})::varchar" if _stamped(partition, names) else "null"
    where = ""
    if only_parts is not None and partition is not None:
        where = "where " + part_predicate(partition, only_parts)
    rows = con.execute(
        "select part::varchar, rows, content, stamp from ("
        f"select {part} as part, count(*) as rows, "
        "coalesce(sum(hash(hash(row_))), 0)::hugeint as content, "
        f"{stamp} as stamp "
        f"from {qualified(catalog, name)} as row_ {where} group by all)"
    ).fetchall()
    parts = {value: (int(count), int(content)) for value, count, content, _ in rows}
    stamps = {value: latest for value, _, _, latest in rows} if stamp != "null" else {}
    return Fingerprint(columns, partition, parts, stamps)


def _stamped(partition: str | None, names: list[str]) -> bool:
    return partition is not None and REBUILT_AT in names


def refreshed_fingerprint(
    con: duckdb.DuckDBPyConnection, catalog: str, name: str, before: Fingerprint | None
) -> tuple[Fingerprint, list[str | None]]:
    """The fingerprint of ``name`` in ``catalog``, with the partitions it hashed. For a table
    stamped by dbt (``_stamped``) fingerprinted before with the same columns, a partition whose
    row count and latest rebuilt_at are the recorded ones keeps its recorded hash; every other
    partition (new, changed, or recorded without a stamp) is hashed. Otherwise all of it is."""
    columns = column_signature(con, catalog, name)
    names = [column for column, _ in json.loads(columns)]
    partition = PARTITION_COLUMNS.get(name)
    if partition not in names:
        partition = None
    if (
        before is None
        or not _stamped(partition, names)
        or before.columns != columns
        or before.partition_column != partition
    ):
        full = fingerprint(con, catalog, name)
        return full, sorted(full.parts, key=lambda key: (key is None, key or ""))
    found = con.execute(
        f"select {quote(partition)}::varchar, count(*), max({quote(REBUILT_AT)})::varchar "
        f"from {qualified(catalog, name)} group by all"
    ).fetchall()
    stale = [
        value
        for value, count, latest in found
        if latest is None
        or before.stamps.get(value) != latest
        or before.parts.get(value, (None, None))[0] != count
    ]
    hashed = fingerprint(con, catalog, name, only_parts=stale) if stale else None
    parts = {value: before.parts[value] for value, _, _ in found if value not in stale}
    stamps = {value: latest for value, _, latest in found}
    if hashed is not None:
        parts.update(hashed.parts)
    return Fingerprint(columns, partition, parts, stamps), sorted(
        stale, key=lambda key: (key is None, key or "")
    )


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
        "full_copy_at timestamp with time zone not null, copied varchar not null)"
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
        "values (?, ?, current_timestamp, coalesce(to_timestamp(?), current_timestamp), ?)",
        [duckdb.__version__, storage_version, full_copy_at, json.dumps(copied, sort_keys=True)],
    )


def read_meta(con: duckdb.DuckDBPyConnection, catalog: str) -> tuple[dict, dict[str, Fingerprint]]:
    """What the previous publish recorded in the file attached as ``catalog``: its publish row
    (DuckDB and storage versions) and the fingerprints of its tables. Raises a duckdb.Error
    when the file has none."""
    version, storage, full_copy_at = con.execute(
        "select duckdb_version, storage_version, epoch(full_copy_at) "
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
    recorded = {"duckdb_version": version, "storage_version": storage, "full_copy_at": full_copy_at}
    return recorded, found
