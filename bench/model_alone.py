"""Time one dbt model's compiled SQL alone on a built warehouse, at a DuckDB memory limit.

    python -m bench.model_alone COMPILED.sql WAREHOUSE.duckdb 3GB [4GB ...]

Opens the warehouse read-only (2 threads, UTC), creates a temporary table from the SQL (so the
whole result is computed, nothing is written to the warehouse) and prints wall time, CPU time and
the process's peak RSS, once per memory limit, each in a fresh process. The compiled SQL of a
bench run is under ``target/llm_margin_dbt_assets-*/compiled/``.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time

import duckdb


def measure(sql: str, warehouse: str, limit: str) -> str:
    with tempfile.TemporaryDirectory() as spill, duckdb.connect(warehouse, read_only=True) as con:
        con.execute(f"set memory_limit = '{limit}'")
        con.execute("set threads = 2")
        con.execute("set timezone = 'UTC'")
        con.execute(f"set temp_directory = '{spill}'")
        started = time.monotonic()
        before = resource.getrusage(resource.RUSAGE_SELF)
        con.execute(f"create temp table model_alone as {sql}")
        after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return (
        f"memory_limit {limit}: wall {time.monotonic() - started:.1f} s, CPU {cpu:.1f} s, "
        f"peak RSS {after.ru_maxrss / 2**20:.2f} GiB"
    )


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    sql_path, warehouse, *limits = argv
    if len(limits) > 1:  # one process per limit: peak RSS is per process
        for limit in limits:
            subprocess.run([sys.executable, "-m", "bench.model_alone", sql_path, warehouse, limit])
        return 0
    with open(sql_path) as f:
        print(measure(f.read(), warehouse, limits[0]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
