"""A new day, timed for two checkouts in turn from the same warehouse: an A/B of the incremental run.

    .venv/bin/python -m bench.new_day_ab --a <checkout> --b <checkout> [--events N] [--days D]
        [--rounds R] [--results-dir DIR] [--a-env NAME=VALUE ...] [--build-each] [--reuse-built]

One pipeline run is a noisy measure on a shared 2-core machine: two runs of the same code differed
by 8 s of dbt in a 90 s new day (BENCHMARKS.md). This builds the first ``days`` days of a
generated set once (``make bench``'s data set and ``bench.pipeline_worker``, with checkout A's
code), keeps a copy of that data directory, and then, ``rounds`` times and alternating A and B,
restores the copy (in the same place), lands the held-back day and runs the pipeline with that checkout's code
(``PYTHONPATH``). Both must build the same warehouse, so only a change that does not alter the
dbt models or the lake compares this way; for one that does, ``--build-each`` builds the first
days once per checkout and starts each checkout's new day from its own build. It prints each
run's wall time and its Dagster steps, and the median per checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import harness as H
from bench.__main__ import DEFAULT_START


def _run(checkout: Path, run_dir: Path, out: Path, extra_env: dict[str, str]) -> dict:
    env = {
        **os.environ,
        **extra_env,
        "PYTHONPATH": str(checkout),
        "LLM_MARGIN_DATA_DIR": str(run_dir),
        "DAGSTER_HOME": str(run_dir / "dagster_home"),
        "LLM_MARGIN_DBT_TARGET": "duckdb",
    }
    (run_dir / "dagster_home").mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with out.with_suffix(".log").open("w") as log:
        subprocess.run(
            [sys.executable, "-m", "bench.pipeline_worker", str(out)],
            cwd=checkout,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
        )
    worker = json.loads(out.read_text())
    steps = {
        s["step"]: round(s["end"] - s["start"], 1)
        for s in worker["steps"]
        if "start" in s and "end" in s
    }
    return {"wall": round(time.monotonic() - started, 1), "steps": steps}


def _copy(src: Path, dst: Path) -> None:
    """``src`` as a new data directory ``dst``: landing files hard-linked (only read), the rest
    copied (the run writes the lake, the warehouse and the Dagster instance)."""
    landing = src / "landing"

    def copy(a: str, b: str) -> None:
        if Path(a).is_relative_to(landing):
            os.link(a, b)
        else:
            shutil.copy2(a, b)

    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, copy_function=copy)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.new_day_ab", description=__doc__)
    p.add_argument("--a", type=Path, required=True, help="checkout A (builds the first days too)")
    p.add_argument("--b", type=Path, required=True, help="checkout B")
    p.add_argument("--events", type=int, default=3_000_000)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--results-dir", type=Path, default=H.ROOT / "bench" / "results")
    p.add_argument(
        "--a-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set in checkout A's runs only, e.g. PYTHONPYCACHEPREFIX=/tmp/none (A without bytecode)",
    )
    p.add_argument(
        "--reuse-built",
        action="store_true",
        help="start from the first days built by an earlier run of this command (same set)",
    )
    p.add_argument(
        "--build-each",
        action="store_true",
        help="build the first days with each checkout (for a change to the models or the lake)",
    )
    args = p.parse_args(argv)
    a_env = dict(item.split("=", 1) for item in args.a_env)
    params = H.Params(args.events, args.days, 7, 40, DEFAULT_START)
    sampler = H.MemorySampler()
    sampler.start()
    generated, _ = H.generate(sampler, params, args.results_dir, quiet=True)
    base = args.results_dir / params.key / "new_day_ab"
    run_dir = base / "run"
    # the first days, built by A (and by B with --build-each), each kept as a copy that every new
    # day of that checkout starts from, restored in the same place (the paths in it are absolute)
    builders = [("A", args.a, base / "built")]
    if args.build_each:
        builders.append(("B", args.b, base / "built-B"))
    built: dict[str, Path] = {}
    held = run_dir / "held_back" / H.usage_files(generated / "landing" / "usage_events")[-1].name
    for name, checkout, copy in builders:
        if args.reuse_built and (copy / ".complete").exists():
            H.log(f"reusing the first {args.days} days built before by {name}: {copy}")
        else:
            held = H.fresh_run_dir(generated, run_dir, args.days)
            H.log(f"first {args.days} days with {checkout} ...")
            first = _run(
                checkout.resolve(),
                run_dir,
                base / f"first-{name}.json",
                a_env if name == "A" else {},
            )
            H.log(f"  built in {first['wall']} s")
            _copy(run_dir, copy)
            (copy / ".complete").write_text(str(checkout))
        built[name] = copy
    built.setdefault("B", built["A"])
    runs: dict[str, list[dict]] = {"A": [], "B": []}
    for round_ in range(1, args.rounds + 1):
        for name, checkout in (("A", args.a), ("B", args.b)):
            _copy(built[name], run_dir)
            os.link(held, run_dir / "landing" / "usage_events" / held.name)
            extra_env = a_env if name == "A" else {}
            result = _run(
                checkout.resolve(), run_dir, base / f"day-{name}-{round_}.json", extra_env
            )
            runs[name].append(result)
            top = sorted(result["steps"].items(), key=lambda kv: -kv[1])[:4]
            H.log(
                f"round {round_} {name} ({checkout}): {result['wall']} s; "
                + ", ".join(f"{k} {v}" for k, v in top)
            )
    sampler.stop()
    for name, checkout in (("A", args.a), ("B", args.b)):
        walls = [r["wall"] for r in runs[name]]
        H.log(f"{name} {checkout}: new day median {statistics.median(walls)} s ({walls})")
    (base / "ab.json").write_text(
        json.dumps({"a": str(args.a), "b": str(args.b), "runs": runs}, indent=1)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
