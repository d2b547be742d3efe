"""The serving copy's publish, timed for two checkouts in turn on the same built warehouse.

    .venv/bin/python -m bench.serving_publish --warehouse <run>/warehouse.duckdb --since DATE
        [--a <checkout>] [--b <checkout>] [--rounds R] [--scratch DIR]

For each checkout (``PYTHONPATH``), a full copy of the warehouse's served tables into an empty
directory (timed: the publish a full build makes), which is then the previous serving file of
every round. A round copies it, marks in its recorded fingerprints what a new day changes (the
big facts' partitions from ``--since`` on, as rebuilt by another build; every other table, as
changed), and publishes again (timed: the publish of a new day). Rounds alternate A and B. The
warehouse is only read. Without ``--a``/``--b`` both are this checkout.

A new day is simulated rather than built because building one moves the warehouse on, and
because this measures only the publish: the same warehouse, the same changed days, every round.
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

# Run in the child, with the checkout's orchestration on PYTHONPATH: nothing from bench.
SERVING_FILE = "llm_margin.duckdb"


def _mark_new_day(serving: Path, since: str) -> None:
    import duckdb

    serving.chmod(0o644)
    with duckdb.connect(str(serving)) as con:
        con.execute(
            "update _serving.table_fingerprints set latest_rebuilt_at = 'a later build', "
            "content_hash = 0 where partition_column is not null and partition_value >= ?",
            [since],
        )
        con.execute(
            "update _serving.table_fingerprints set content_hash = 0 where partition_column is null"
        )


def child(mode: str, warehouse: Path, directory: Path, since: str) -> dict:
    from orchestration.serving.publish import publish_serving_copy

    if mode == "new-day":
        _mark_new_day(directory / SERVING_FILE, since)
    started = time.perf_counter()
    copy = publish_serving_copy(warehouse, directory)
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "full_copy_reason": copy.full_copy_reason,
        "copied": len(copy.copied),
        "kept": len(copy.kept),
        "replaced": {name: len(parts) for name, parts in copy.replaced.items()},
        "bytes": (directory / SERVING_FILE).stat().st_size,
    }


def _in_child(checkout: Path, mode: str, warehouse: Path, directory: Path, since: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(warehouse), str(directory), since],
        cwd=checkout,
        env={**os.environ, "PYTHONPATH": str(checkout)},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"publish with {checkout} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--since", required=True, help="first partition a new day rebuilt")
    parser.add_argument("--a", type=Path, default=Path.cwd())
    parser.add_argument("--b", type=Path, default=Path.cwd())
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scratch", type=Path, default=Path("bench/results/serving_publish"))
    args = parser.parse_args(argv)
    warehouse = args.warehouse.resolve()
    checkouts = {"A": args.a.resolve(), "B": args.b.resolve()}
    results: dict[str, dict] = {label: {"new_day": []} for label in checkouts}
    shutil.rmtree(args.scratch, ignore_errors=True)
    for label, checkout in checkouts.items():
        base = args.scratch / label / "base"
        base.mkdir(parents=True)
        full = _in_child(checkout, "full", warehouse, base, args.since)
        results[label]["full_copy"] = full
        print(
            f"{label} full copy: {full['seconds']} s, {full['bytes'] / 2**30:.2f} GiB", flush=True
        )
    for round_ in range(1, args.rounds + 1):
        for label, checkout in checkouts.items():
            directory = args.scratch / label / "round"
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir()
            shutil.copyfile(args.scratch / label / "base" / SERVING_FILE, directory / SERVING_FILE)
            day = _in_child(checkout, "new-day", warehouse, directory, args.since)
            if day["full_copy_reason"] is not None:
                raise SystemExit(
                    f"{label}: the new day made a full copy: {day['full_copy_reason']}"
                )
            results[label]["new_day"].append(day)
            print(
                f"round {round_} {label} new day: {day['seconds']} s "
                f"(copied {day['copied']}, kept {day['kept']}, replaced {day['replaced']})",
                flush=True,
            )
    for label, found in results.items():
        median = statistics.median(day["seconds"] for day in found["new_day"])
        print(
            f"{label} ({checkouts[label]}): full copy {found['full_copy']['seconds']} s, "
            f"new day median {median} s"
        )
    shutil.rmtree(args.scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.path.pop(0)  # bench/ itself: its profile.py would shadow the standard library's
        mode, warehouse, directory, since = sys.argv[2:6]
        print(json.dumps(child(mode, Path(warehouse), Path(directory), since)))
    else:
        sys.exit(main())
