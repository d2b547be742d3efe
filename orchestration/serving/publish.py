"""Publish the warehouse's ``marts`` and ``audit`` relations to ``serving/llm_margin.duckdb``.

The copy is built in a temporary file in the serving directory, checkpointed, closed and fsynced,
then swapped in with ``os.replace``. A reader holding the old file open keeps its inode and its
consistent old data; a reader that connects after the swap sees only the new file. Nothing here
waits for a reader: DuckDB readers lock the file they opened, and the publish never opens it.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

SERVING_FILE_NAME = "llm_margin.duckdb"
# Every relation (tables and views) of these warehouse schemas becomes a table of the same schema
# and name in the serving copy: the marts for every question, audit for what was quarantined,
# how each landing file reconciled and what was restated (docs/serving.md).
SERVED_SCHEMAS = ("marts", "audit")
# DuckDB 1.0's storage format: DuckDB 0.10 to 2.x open it, and so do the DuckDB CLI, Superset's
# duckdb-engine, Evidence, DBeaver and the Node, Go and .NET bindings of the 1.x line.
STORAGE_VERSION = "v1.0.0"


@dataclass(frozen=True)
class PublishedCopy:
    path: Path
    rows: dict[str, int]  # "<schema>.<table>" → rows

    @property
    def tables(self) -> list[str]:
        return sorted(self.rows)


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


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def served_relations(
    con: duckdb.DuckDBPyConnection, catalog: str, schemas: tuple[str, ...] = SERVED_SCHEMAS
) -> list[tuple[str, str]]:
    """Every relation (table or view) of ``schemas`` in the attached database ``catalog``, as
    ``(schema, name)`` in name order: what the serving copy holds, and what the PostgreSQL
    serving target publishes from it (orchestration/serving/postgres_publish.py)."""
    names = ", ".join(_literal(s) for s in schemas)
    return con.execute(
        "select table_schema, table_name from information_schema.tables "
        f"where table_catalog = {_literal(catalog)} and table_schema in ({names}) "
        "order by table_schema, table_name"
    ).fetchall()


def _copy_relations(warehouse: Path, target: Path, schemas: tuple[str, ...]) -> dict[str, int]:
    rows: dict[str, int] = {}
    with duckdb.connect() as con:
        # Written in the oldest storage format that holds what the marts need, so every DuckDB
        # client a BI tool ships opens it, not only the DuckDB that wrote it (docs/serving.md).
        con.execute(
            f"attach {_literal(str(target))} as serving (storage_version {_literal(STORAGE_VERSION)})"
        )
        # Attached under its own file stem: the warehouse's views name their inputs by catalog.
        alias = warehouse.stem
        con.execute(f"attach {_literal(str(warehouse))} as {_quote(alias)} (read_only)")
        con.execute("use serving")
        relations = served_relations(con, alias, schemas)
        for schema in schemas:
            con.execute(f"create schema if not exists {_quote(schema)}")
        for schema, table in relations:
            qualified = f"{_quote(schema)}.{_quote(table)}"
            con.execute(f"create table {qualified} as select * from {_quote(alias)}.{qualified}")
            rows[f"{schema}.{table}"] = con.execute(f"select count(*) from {qualified}").fetchone()[
                0
            ]
        con.execute(f"detach {_quote(alias)}")
        con.execute("checkpoint serving")
        con.execute("use memory")
        con.execute("detach serving")
    return rows


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def publish_serving_copy(
    warehouse: Path, serving_dir: Path, schemas: tuple[str, ...] = SERVED_SCHEMAS
) -> PublishedCopy:
    """Copy every relation of ``schemas`` from ``warehouse`` into a new file and swap it in.

    On any failure the temporary file is removed and the previous serving file is left as it was.
    """
    if not warehouse.exists():
        raise FileNotFoundError(f"{warehouse} does not exist: build the warehouse first")
    serving_dir.mkdir(parents=True, exist_ok=True)
    final = serving_file(serving_dir)
    # Hidden and unique: never mistaken for the serving file, two publishes never share it.
    temp = serving_dir / f".{SERVING_FILE_NAME}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    try:
        rows = _copy_relations(warehouse, temp, schemas)
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
    return PublishedCopy(final, rows)
