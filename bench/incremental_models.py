"""Full build vs incremental build after one more day, per dbt model (BENCHMARKS.md
"Incremental models").

    .venv/bin/llm-margin generate --events 1000000 --days 90 --data-dir DIR
    .venv/bin/python bench/incremental_models.py DIR

Holds the last day's landing file back, ingests the rest and builds every model from scratch
(`dbt run --full-refresh`), then lands that file, ingests it and builds again incrementally
(`dbt run`); then lands a negotiated price sheet restating a past price and builds again (every
call is repriced: DECISIONLOG.md "Incremental above staging"). Prints, per model, the execution
time dbt records in run_results.json for each build, and the ratio. Models only: tests are not
timed here.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


def _dbt_run(data_dir: Path, target_path: Path, *extra: str) -> tuple[float, dict[str, float]]:
    from orchestration.dbt.project import dbt_executable
    from orchestration.paths import DATA_DIR_ENV, PROJECT_ROOT

    started = time.monotonic()
    subprocess.run(
        [dbt_executable(), "run", "--quiet", "--project-dir", str(PROJECT_ROOT),
         "--profiles-dir", str(PROJECT_ROOT), "--target", "duckdb",
         "--target-path", str(target_path), *extra],
        env={**os.environ, DATA_DIR_ENV: str(data_dir)},
        check=True,
    )  # fmt: skip
    wall = time.monotonic() - started
    results = json.loads((target_path / "run_results.json").read_text())["results"]
    return wall, {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results}


def _ingest() -> None:
    from dagster import DagsterInstance, materialize

    from orchestration.dbt.assets import llm_margin_dbt_assets
    from orchestration.definitions import defs

    ingestion = [a for a in defs.assets if a is not llm_margin_dbt_assets]
    with DagsterInstance.ephemeral() as instance:
        assert materialize(ingestion, instance=instance, resources=defs.resources).success


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data_dir", type=Path, help="a data directory holding generated landing files"
    )
    args = parser.parse_args()
    data_dir = args.data_dir.resolve()
    os.environ["LLM_MARGIN_DATA_DIR"] = str(data_dir)
    landing = data_dir / "landing" / "usage_events"
    held = data_dir / "held_back"
    held.mkdir(exist_ok=True)
    last_day = sorted(p for p in landing.iterdir() if p.is_file())[-1]
    shutil.move(last_day, held / last_day.name)
    target = data_dir / "bench_dbt_target"

    started = time.monotonic()
    _ingest()
    ingest_history = time.monotonic() - started
    full_wall, full = _dbt_run(data_dir, target, "--full-refresh")

    shutil.move(held / last_day.name, landing / last_day.name)
    started = time.monotonic()
    _ingest()
    ingest_day = time.monotonic() - started
    incremental_wall, incremental = _dbt_run(data_dir, target)

    (data_dir / "landing" / "pricing" / "negotiated-bench.csv").write_text(
        "provider,model,component,usd_per_million_tokens,valid_from,valid_to\n"
        "openai,gpt-4.1,input,1.50,2000-01-01,\n"
    )
    _ingest()
    repriced_wall, repriced = _dbt_run(data_dir, target)

    print(
        f"ingest: history {ingest_history:.1f} s, one more day ({last_day.name}) {ingest_day:.1f} s"
    )
    print(
        f"dbt run wall time: full {full_wall:.1f} s, incremental +1 day {incremental_wall:.1f} s, "
        f"after a price file {repriced_wall:.1f} s"
    )
    print()
    print(
        "| model | full build (s) | incremental +1 day (s) | +1 day / full | after a price file (s) |"
    )
    print("|---|---:|---:|---:|---:|")
    for model in sorted(full, key=lambda m: -full[m]):
        ratio = incremental.get(model, 0) / full[model] if full[model] else float("nan")
        print(
            f"| `{model}` | {full[model]:.2f} | {incremental.get(model, 0):.2f} | {ratio:.2f} "
            f"| {repriced.get(model, 0):.2f} |"
        )
    totals = [sum(r.values()) for r in (full, incremental, repriced)]
    print(
        f"| **all models** | **{totals[0]:.1f}** | **{totals[1]:.1f}** "
        f"| **{totals[1] / totals[0]:.2f}** | **{totals[2]:.1f}** |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
