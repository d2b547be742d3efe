"""What validating a usage-event batch with Great Expectations costs next to loading it.

    .venv/bin/python bench/gx_overhead.py --events 1000000 --days 90

Generates the sample data (once, into --data-dir, default a temporary directory), loads every
usage-event landing file into an empty lake (the ingestion asset's work), then runs the
``usage_events`` suite on exactly that batch as the blocking check does (DuckDB reads the suite's
deterministic sample of the batch's lake files into pandas, GX validates). Prints both times and
the ratio; the budget is 1/5.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orchestration.ingest.lake import Lake  # noqa: E402
from orchestration.ingest.usage_events import load_landing  # noqa: E402

BUDGET = 0.2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse generated data here")
    args = parser.parse_args()

    root = args.data_dir or Path(tempfile.mkdtemp(prefix="gx-bench-")) / "data"
    landing = root / "landing" / "usage_events"
    if not landing.exists() or not any(landing.iterdir()):
        from sample_data import generate

        started = time.perf_counter()
        generate(root, seed=args.seed, events=args.events, days=args.days, progress=True)
        print(f"generated {args.events:,} events in {time.perf_counter() - started:.1f}s")
    lake_root = root / "bench-lake"
    shutil.rmtree(lake_root, ignore_errors=True)

    started = time.perf_counter()
    results = load_landing(landing, Lake(lake_root))
    load_s = time.perf_counter() - started
    loaded = [r for r in results if r.status == "loaded"]
    records = sum(r.records_loaded for r in loaded)

    started = time.perf_counter()
    import great_expectations  # noqa: F401  (once per process, paid by the first check)

    import_s = time.perf_counter() - started

    from orchestration.checks.gx_validation import load_suite, plan_sample, read_batch, validate
    from orchestration.checks.raw_batches import _usage_event_files

    suite = load_suite("usage_events")
    started = time.perf_counter()
    files = [f for r in loaded for f in _usage_event_files(lake_root, "all", r.file_sha256)]
    sample = plan_sample(files, suite.get("sample"))
    frame = read_batch(files, suite["read"], sample)
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    outcomes = validate("usage_events", "all", frame, suite["expectations"], suite["index_columns"])
    validate_s = time.perf_counter() - started
    result = {
        "records_loaded": records,
        "files": len(loaded),
        "load_s": round(load_s, 2),
        "gx_import_s": round(import_s, 2),
        "batch_read_s": round(read_s, 2),
        "gx_validate_s": round(validate_s, 2),
        "check_s": round(read_s + validate_s, 2),
        "check_over_load": round((read_s + validate_s) / load_s, 3),
        "sample": sample.describe(len(frame)),
        "expectations": len(outcomes),
        "failed": [o.describe() for o in outcomes if not o.success],
    }
    print(json.dumps(result, indent=2))
    ok = result["check_over_load"] <= BUDGET
    print(
        f"check / load = {result['check_over_load']:.3f} (budget {BUDGET}): {'ok' if ok else 'OVER'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
