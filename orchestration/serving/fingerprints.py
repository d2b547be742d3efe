"""Content fingerprints of the served tables: what lets a publish keep a table of the previous
serving file instead of copying it again (docs/serving.md, "What a publish copies").

A table's fingerprint is its column names and types, and per partition (one partition for a
table without a partition column) the row count and the sum, as a 128-bit integer, of a 64-bit
hash of every row (DuckDB's ``hash`` of the whole row, mixed once more so that values swapped
between rows do not cancel out). A sum does not depend on row order, so the same rows written in
another order have the same fingerprint. Any change of a type, a column, a row count or a value
changes it, short of a 64-bit hash collision. The hash is DuckDB's: a fingerprint is only
compared with one computed by the same DuckDB version (otherwise everything is copied).

The serving file records the fingerprints of its own tables in ``_serving.table_fingerprints``,
outside the served schemas (BI tools see it, the PostgreSQL target does not publish it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Fingerprint:
    columns: str  # JSON list of [name, type], in column order
    partition_column: str | None
    parts: dict[str | None, tuple[int, int]]  # partition value as text → (rows, content hash)

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
    where = ""
    if only_parts is not None and partition is not None:
        where = "where " + part_predicate(partition, only_parts)
    rows = con.execute(
        "select part::varchar, rows, content from ("
        f"select {part} as part, count(*) as rows, "
        "coalesce(sum(hash(hash(row_))), 0)::hugeint as content "
        f"from {qualified(catalog, name)} as row_ {where} group by all)"
    ).fetchall()
    parts = {value: (int(count), int(content)) for value, count, content in rows}
    return Fingerprint(columns, partition, parts)


def row_count(con: duckdb.DuckDBPyConnection, catalog: str, name: str) -> int:
    return con.execute(f"select count(*) from {qualified(catalog, name)}").fetchone()[0]


def create_meta(con: duckdb.DuckDBPyConnection, catalog: str) -> None:
    con.execute(f"create schema if not exists {quote(catalog)}.{META_SCHEMA}")
    con.execute(
        f"create or replace table {quote(catalog)}.{META_SCHEMA}.{FINGERPRINT_TABLE} ("
        "table_name varchar not null, columns varchar not null, partition_column varchar, "
        "partition_value varchar, rows bigint not null, content_hash hugeint not null)"
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
        (name, fp.columns, fp.partition_column, value, count, content)
        for name, fp in sorted(prints.items())
        for value, (count, content) in fp.parts.items()
    ]
    if rows:  # one statement, the columns as lists (executemany costs a statement per row)
        columns = [list(column) for column in zip(*rows, strict=True)]
        columns[5] = [str(content) for content in columns[5]]
        con.execute(
            f"insert into {quote(catalog)}.{META_SCHEMA}.{FINGERPRINT_TABLE} select "
            "unnest(?::varchar[]), unnest(?::varchar[]), unnest(?::varchar[]), "
            "unnest(?::varchar[]), unnest(?::bigint[]), unnest(?::varchar[])::hugeint",
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
        f"content_hash::varchar from {quote(catalog)}.{META_SCHEMA}.{FINGERPRINT_TABLE}"
    ).fetchall()
    grouped: dict[str, tuple[str, str | None, dict]] = {}
    for name, columns, partition, value, count, content in records:
        _, _, parts = grouped.setdefault(name, (columns, partition, {}))
        parts[value] = (int(count), int(content))
    for name, (columns, partition, parts) in grouped.items():
        found[name] = Fingerprint(columns, partition, parts)
    recorded = {"duckdb_version": version, "storage_version": storage, "full_copy_at": full_copy_at}
    return recorded, found
