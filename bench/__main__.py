"""``python -m bench --events 1000000 [--events 10000000]``: see bench/harness.py and BENCHMARKS.md."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from bench import harness as H

DEFAULT_START = date(2026, 7, 1)  # 90 days + 1 end before today's clock: no future timestamps


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument(
        "--events", type=int, action="append", help="events in the history (repeat for several)"
    )
    p.add_argument("--days", type=int, default=90, help="days of history (one more is added)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--customers", type=int, default=40)
    p.add_argument("--start-date", type=date.fromisoformat, default=DEFAULT_START)
    p.add_argument("--results-dir", type=Path, default=H.ROOT / "bench" / "results")
    p.add_argument("--benchmarks-file", type=Path, default=H.ROOT / "BENCHMARKS.md")
    p.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline")
    p.add_argument("--no-append", action="store_true", help="do not append to BENCHMARKS.md")
    p.add_argument("--quiet", action="store_true", help="no generator progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sizes = args.events or [1_000_000]
    command = " ".join(
        [".venv/bin/python -m bench", *map(shlex.quote, sys.argv[1:] if argv is None else argv)]
    )
    if os.environ.get("BENCH_INVOCATION"):  # set by `make bench`
        command = f"{os.environ['BENCH_INVOCATION']} (runs: {command})"
    args.results_dir.mkdir(parents=True, exist_ok=True)
    sampler = H.MemorySampler()
    sampler.start()
    status = 0
    try:
        for events in sizes:
            params = H.Params(events, args.days, args.seed, args.customers, args.start_date)
            H.log(f"benchmark: {events:,} events, {args.days} days + 1 ({params.key})")
            result = H.bench_one(
                sampler,
                params,
                args.results_dir,
                pandas=not args.no_pandas,
                quiet=args.quiet,
                command=command,
            )
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            out = args.results_dir / f"{params.key}-{stamp}.json"
            out.write_text(json.dumps(result, indent=1, default=str))
            print(H.markdown(result))
            H.log(f"results: {out}")
            if not result["agree"]:
                H.log(
                    "FAILED: the implementations disagree:\n  "
                    + "\n  ".join(result["disagreements"])
                )
                status = 1
                continue
            if not args.no_append:
                H.append_benchmarks(args.benchmarks_file, result)
                H.log(f"appended to {args.benchmarks_file}")
    except H.StageFailed as exc:
        H.log(f"FAILED: {exc}")
        status = 1
    finally:
        sampler.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
