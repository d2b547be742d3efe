"""OTLP and LiteLLM ingestion against contract JSON Lines ingestion, per call, on the same traffic.

    python -m bench.source_ingest <generated data dir> <out.json>

Takes a generated data set's final records (``sample_data.shapes.final_records``: one record per
call), writes them three times into a scratch folder beside ``out.json`` (as contract JSON Lines,
as OTLP trace files the way the Collector writes them, with a root span per task carrying the
customer, and as LiteLLM spend-log JSON Lines exports), then loads each into its own fresh lake,
one file at a time on one worker:

* contract: ``usage_events.load_landing`` (validate, write, publish);
* OTLP: ``otel.load_span_file`` per file (the span store), then ``otel_assemble.assemble`` (every
  trace to calls, through the same validate-write-publish);
* LiteLLM: ``usage_events.load_landing`` with ``litellm.read_spend_logs`` (each row mapped to a
  contract record in SQL, then the same validate-write-publish).

All three account for the same calls in the lake, loaded or quarantined (checked); the target is
OTLP (and LiteLLM) <= 2x contract per call.
Writing the files is not timed.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from orchestration.ingest.lake import Lake
from orchestration.ingest.sources import litellm, otel
from orchestration.ingest.sources.otel_assemble import assemble
from orchestration.ingest.usage_events import landing_files, load_landing
from sample_data.shapes import final_records, write_litellm, write_otlp

TARGET_OTLP_VS_CONTRACT = 2.0
FILES = 10
# The comparison is per call, so it needs enough calls to be steady, not every call: above this
# many generated records it uses the first days' files only (final_records holds every record in
# Python, which at 10M events would need tens of GiB).
MAX_RECORDS = 1_100_000
NOW = datetime(2030, 1, 1, tzinfo=UTC)  # after every generated timestamp: nothing in the future


def _write_contract(records, folder: Path, files: int) -> None:
    folder.mkdir(parents=True)
    step = max(1, -(-len(records) // files))
    with duckdb.connect() as con:
        for n, start in enumerate(range(0, len(records), step), start=1):
            con.register("part", records.iloc[start : start + step])
            con.execute(
                f"copy (select * from part) to '{(folder / f'calls-{n:03d}.jsonl').as_posix()}' "
                "(format json)"
            )
            con.unregister("part")


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def _accounted(lake: Path) -> int:
    """Distinct calls in the lake, loaded or quarantined."""
    with duckdb.connect() as con:
        return con.execute(
            "select count(distinct event_id) from ("
            "select event_id from read_parquet(?, hive_partitioning = true) "
            "where event_date > '1971-01-01' "
            "union all select event_id from read_parquet(?) where event_id is not null)",
            [
                (lake / "usage_events" / "*" / "*.parquet").as_posix(),
                (lake / "quarantine" / "usage_events" / "*.parquet").as_posix(),
            ],
        ).fetchone()[0]


def first_days(generated: Path, scratch: Path, max_records: int = MAX_RECORDS) -> Path:
    """``generated`` itself when it holds at most ``max_records`` records, else a view of it (in
    ``scratch``) with the first usage files, by name, that together hold at most that many: their
    truth rows and links to the files. Events whose final version lies in a later file are left
    out by ``final_records`` as incomplete, so the view is still one call per event."""
    truth = pq.read_table(generated / "truth" / "events.parquet")
    if truth.num_rows <= max_records:
        return generated
    counts = Counter(truth.column("file").to_pylist())
    kept: list[str] = []
    total = 0
    for name in sorted(counts):
        if kept and total + counts[name] > max_records:
            break
        kept.append(name)
        total += counts[name]
    view = scratch / "first_days"
    (view / "truth").mkdir(parents=True)
    (view / "landing" / "usage_events").mkdir(parents=True)
    mask = pc.is_in(truth.column("file"), value_set=pa.array(kept))
    pq.write_table(truth.filter(mask), view / "truth" / "events.parquet")
    for name in kept:
        (view / "landing" / "usage_events" / name).symlink_to(
            generated / "landing" / "usage_events" / name
        )
    return view


def run(generated: Path, out: Path) -> dict:
    scratch = out.parent / "source_ingest"
    shutil.rmtree(scratch, ignore_errors=True)
    source = first_days(generated, scratch)
    used_files = len(list((source / "landing" / "usage_events").glob("*")))
    records = final_records(source)
    calls = len(records)
    _write_contract(records, scratch / "contract" / "landing", FILES)
    spans_per_line = 500
    step = max(1, -(-calls // FILES))
    lines = max(1, -(-calls // (spans_per_line * FILES)))
    written = write_otlp(
        records,
        scratch / "otel" / "landing",
        lines_per_file=lines,
        spans_per_line=spans_per_line,
        gzip_every=10**9,
    )

    contract_lake = Lake(scratch / "contract" / "lake")
    loads, contract_wall, contract_cpu = _timed(
        lambda: load_landing(scratch / "contract" / "landing", contract_lake, now=NOW, workers=1)
    )
    contract_loaded = sum(load.records_loaded for load in loads)

    landing = scratch / "otel" / "landing"
    store = Lake(scratch / "otel" / "lake", otel.DATASET)
    spans, store_wall, store_cpu = _timed(
        lambda: [otel.load_span_file(p, landing, store, now=NOW) for p in landing_files(landing)]
    )
    assembly, assemble_wall, assemble_cpu = _timed(
        lambda: assemble(scratch / "otel" / "lake", now=NOW + timedelta(days=1))
    )
    otel_loaded = assembly.load.records_loaded if assembly.load else 0

    write_litellm(records, scratch / "litellm" / "landing", rows_per_file=step)
    litellm_lake = Lake(scratch / "litellm" / "lake")
    litellm_loads, litellm_wall, litellm_cpu = _timed(
        lambda: load_landing(
            scratch / "litellm" / "landing",
            litellm_lake,
            now=NOW,
            workers=1,
            read=litellm.read_spend_logs,
            source_format=litellm.SOURCE_FORMAT,
        )
    )
    result = {
        "calls": calls,
        "from_files": used_files
        if source != generated
        else len(list((generated / "landing" / "usage_events").glob("*"))),
        "subset": source != generated,
        "contract_files": len(loads),
        "otlp_files": len(written.files),
        "otlp_spans": written.genai_spans + written.root_spans,
        "contract": {"wall": contract_wall, "cpu": contract_cpu, "loaded": contract_loaded},
        "otlp_store": {
            "wall": store_wall,
            "cpu": store_cpu,
            "spans": sum(s.spans_stored for s in spans),
        },
        "otlp_assemble": {"wall": assemble_wall, "cpu": assemble_cpu, "loaded": otel_loaded},
        "litellm": {
            "wall": litellm_wall,
            "cpu": litellm_cpu,
            "loaded": sum(load.records_loaded for load in litellm_loads),
        },
        "quarantined": {
            "contract": sum(load.records_quarantined for load in loads),
            "otlp": assembly.load.records_quarantined if assembly.load else 0,
            "litellm": sum(load.records_quarantined for load in litellm_loads),
        },
        "same_calls": _accounted(scratch / "contract" / "lake")
        == _accounted(scratch / "otel" / "lake")
        == _accounted(scratch / "litellm" / "lake")
        == calls,
    }
    otlp_wall = store_wall + assemble_wall
    result["otlp_vs_contract_wall"] = otlp_wall / contract_wall
    result["otlp_vs_contract_cpu"] = (store_cpu + assemble_cpu) / max(contract_cpu, 1e-9)
    result["litellm_vs_contract_wall"] = litellm_wall / contract_wall
    result["litellm_vs_contract_cpu"] = litellm_cpu / max(contract_cpu, 1e-9)
    result["met"] = (
        result["same_calls"] and result["otlp_vs_contract_wall"] <= TARGET_OTLP_VS_CONTRACT
    )
    shutil.rmtree(scratch, ignore_errors=True)
    return result


def markdown(result: dict) -> str:
    per = lambda seconds: f"{seconds / result['calls'] * 1e6:,.1f}"  # noqa: E731
    c, s, a = result["contract"], result["otlp_store"], result["otlp_assemble"]
    m = result["litellm"]
    return "\n".join(
        [
            f"Source ingestion, the same {result['calls']:,} calls on one worker "
            + (
                f"(the calls of the first {result['from_files']} generated usage files; "
                if result.get("subset")
                else "("
            )
            + f"{result['contract_files']} contract JSON Lines files; {result['otlp_files']} OTLP "
            f"files holding {result['otlp_spans']:,} spans, a root span per task):",
            "",
            "| path | wall s | CPU s | µs per call (wall) |",
            "|---|---:|---:|---:|",
            f"| contract JSON Lines: validate, write, publish | {c['wall']:.1f} | {c['cpu']:.1f} | {per(c['wall'])} |",
            f"| OTLP: span store (flatten every span) | {s['wall']:.1f} | {s['cpu']:.1f} | {per(s['wall'])} |",
            f"| OTLP: assemble traces → calls (validate, write, publish) | {a['wall']:.1f} | {a['cpu']:.1f} | {per(a['wall'])} |",
            f"| OTLP total | {s['wall'] + a['wall']:.1f} | {s['cpu'] + a['cpu']:.1f} | {per(s['wall'] + a['wall'])} |",
            f"| LiteLLM spend logs (JSON Lines): map, validate, write, publish | {m['wall']:.1f} | {m['cpu']:.1f} | {per(m['wall'])} |",
            "",
            f"- {'met' if result['met'] else '**missed**'}: OTLP ingestion "
            f"{result['otlp_vs_contract_wall']:.2f}x contract JSON Lines per call in wall time "
            f"({result['otlp_vs_contract_cpu']:.2f}x in CPU time); target <= "
            f"{TARGET_OTLP_VS_CONTRACT:g}x; LiteLLM {result['litellm_vs_contract_wall']:.2f}x "
            f"({result['litellm_vs_contract_cpu']:.2f}x in CPU time); the three lakes account "
            f"for the same {result['calls']:,} calls, loaded or quarantined: "
            f"{'yes' if result['same_calls'] else '**no**'} "
            f"(quarantined: contract {result['quarantined']['contract']:,}, OTLP "
            f"{result['quarantined']['otlp']:,}, LiteLLM {result['quarantined']['litellm']:,}: "
            "calls whose task's first attempt was a malformed record in the generated contract "
            "files, so their trace or spend-log row carries no customer).",
        ]
    )


def main(argv: list[str]) -> int:
    generated, out = Path(argv[0]), Path(argv[1])
    result = run(generated, out)
    out.write_text(json.dumps(result, indent=1))
    print(markdown(result))
    return 0 if result["same_calls"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
