"""How a Python check reads the warehouse: read-only, and only inside the writer pool.

A check that opens ``warehouse.duckdb`` while a dbt step writes it fails on DuckDB's file lock,
so every such check declares ``pool=WAREHOUSE_POOL`` (tests/test_landing_sensor_and_schedules.py
holds every check that calls ``warehouse_rows`` to it)."""

from __future__ import annotations

import duckdb

from orchestration.paths import data_paths
from orchestration.pools import WAREHOUSE_POOL

__all__ = ["WAREHOUSE_POOL", "warehouse_rows"]


def warehouse_rows(sql: str) -> list[tuple]:
    with duckdb.connect(str(data_paths().warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()
