"""Profile the slowest stages of a benchmark run: DuckDB ``EXPLAIN ANALYZE`` of the compiled SQL of
the slowest dbt models (from the run's dbt timings) and of the engine-limit statement.

``python -m bench.profile RESULTS.json [--models 3]`` after ``make bench``: reads the run
directory the results name, writes each profile to ``bench/results/<key>/profile-<name>.txt`` and
prints the heaviest operators of each (what BENCHMARKS.md quotes).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import duckdb

from bench import engine_limit
from bench.harness import ROOT

TOP_OPERATORS = 6


def compiled_sql(model: str) -> Path:
    """The compiled SQL of a model from the newest dbt invocation (dagster-dbt target dirs)."""
    found = sorted(
        (ROOT / "target").rglob(f"compiled/**/{model}.sql"), key=lambda p: p.stat().st_mtime
    )
    if not found:
        raise FileNotFoundError(f"no compiled SQL for {model} under target/")
    return found[-1]


def operators(profile: dict) -> list[tuple[float, str, int, str]]:
    out = []

    def walk(node):
        info = node.get("extra_info") or {}
        what = info.get("CTE Name") or info.get("Join Type") or info.get("Function") or ""
        if not what and info.get("Projections"):
            what = (
                ", ".join(info["Projections"][:4])
                if isinstance(info["Projections"], list)
                else str(info["Projections"])[:80]
            )
        out.append(
            (node.get("timing", 0.0), node.get("name", "?"), node.get("intermediate_rows", 0), what)
        )
        for child in node.get("children", []):
            walk(child)

    for node in profile.get("operator", profile.get("children", [])):
        walk(node)
    return sorted(out, key=lambda o: -o[0])


def explain(con: duckdb.DuckDBPyConnection, sql: str, out: Path) -> list:
    with tempfile.TemporaryDirectory() as tmp:
        prof = Path(tmp) / "profile.json"
        con.execute("pragma enable_profiling = 'json'")
        con.execute(f"pragma profiling_output = '{prof.as_posix()}'")
        con.execute(sql).fetchall()
        con.execute("pragma disable_profiling")
        profile = json.loads(prof.read_text())
    ops = operators(profile)
    total = profile.get("latency") or sum(o[0] for o in ops)
    lines = [f"total {total:.2f} s (operator time summed over threads)"]
    lines += [f"{t:8.2f} s  {name:<22} rows {rows:>12,}  {what}" for t, name, rows, what in ops]
    out.write_text("\n".join(lines) + "\n")
    return ops


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile")
    p.add_argument("results", type=Path)
    p.add_argument("--models", type=int, default=3)
    args = p.parse_args(argv)
    result = json.loads(args.results.read_text())
    key = Path(args.results).name.rsplit("-", 1)[0]
    base = args.results.parent / key
    run_dir = base / "run"
    models = [
        n["unique_id"].split(".")[-1]
        for n in result["dbt_top"]
        if n["unique_id"].startswith("model.")
    ][: args.models]
    with duckdb.connect(str(run_dir / "warehouse.duckdb"), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        for model in models:
            sql = compiled_sql(model).read_text()
            ops = explain(con, sql, base / f"profile-{model}.txt")
            print(f"## {model}")
            for t, name, rows, what in ops[:TOP_OPERATORS]:
                print(f"  {t:8.2f} s  {name:<22} rows {rows:>12,}  {what}")
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        sql = engine_limit.render(run_dir, run_dir / "model_resolutions.parquet")
        ops = explain(con, sql, base / "profile-engine_limit.txt")
        print("## engine_limit.sql")
        for t, name, rows, what in ops[:TOP_OPERATORS]:
            print(f"  {t:8.2f} s  {name:<22} rows {rows:>12,}  {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
