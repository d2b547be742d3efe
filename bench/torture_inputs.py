"""What the torture run lands: re-serialised copies, late events and re-versions, malformed records
and unreadable files, hostile identifiers and a price correction (bench/torture.py).

Every function writes files into a landing directory and returns a ``Landed`` that says, for the
independent count (bench/torture_counts.py), which files are copies of which originals and which
event ids it meant to be valid or invalid. Nothing here reads the pipeline's lake or warehouse."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HOSTILE_IDS = [
    "'; drop table x; --",
    '"); delete from marts.fct_llm_calls; --',
    "<script>alert('x')</script>",
    'O\'Brien "quoted" `back`',
    "ünïcödé-客户-🙂",
    "back\\slash %s {0} ${x}",
]


@dataclass
class Landed:
    """What one step put into landing."""

    copies: dict[str, str] = field(default_factory=dict)  # landing-relative copy -> original
    valid_ids: set[str] = field(default_factory=set)  # event ids the step meant to be accepted
    invalid_records: int = 0  # records the step meant to be quarantined
    unreadable_files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _write_jsonl(path: Path, lines: list[str], *, compress: bool) -> None:
    text = "".join(line + "\n" for line in lines).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text, mtime=0) if compress else text)


def _read_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def reserialise(landing: Path, originals: list[Path], tag: str, variant: int = 0) -> Landed:
    """Every original usage file again under a new name and in another serialisation: JSON Lines
    with the keys in reverse order (``variant`` 1: sorted, compact separators) and gzip toggled
    (unparseable lines kept as they were), CSV gzipped with CRLF line ends (variant 1: LF),
    Parquet with the columns reversed and another compression (variant 1: zstd)."""
    landed = Landed()
    for path in originals:
        name = path.name
        if name.endswith((".jsonl", ".jsonl.gz")):
            lines = []
            for line in _read_bytes(path).decode("utf-8", "surrogateescape").splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None
                if isinstance(record, dict):
                    if variant:
                        line = json.dumps(record, sort_keys=True, separators=(",", ":"))
                    else:
                        line = json.dumps(dict(reversed(list(record.items()))), ensure_ascii=False)
                lines.append(line)
            gz = not name.endswith(".gz")
            stem = name.removesuffix(".gz").removesuffix(".jsonl")
            new = landing / f"{stem}-{tag}.jsonl{'.gz' if gz else ''}"
            text = "".join(x + "\n" for x in lines).encode("utf-8", "surrogateescape")
            new.write_bytes(gzip.compress(text, mtime=0) if gz else text)
        elif name.endswith((".csv", ".csv.gz")):
            rows = list(csv.reader(io.StringIO(_read_bytes(path).decode(), newline="")))
            out = io.StringIO(newline="")
            csv.writer(out, lineterminator="\n" if variant else "\r\n").writerows(rows)
            stem = name.removesuffix(".gz").removesuffix(".csv")
            new = landing / f"{stem}-{tag}.csv.gz"
            new.write_bytes(gzip.compress(out.getvalue().encode(), mtime=0))
        elif name.endswith(".parquet"):
            table = pq.read_table(path)
            table = table.select(list(reversed(table.column_names)))
            new = landing / f"{name.removesuffix('.parquet')}-{tag}.parquet"
            pq.write_table(table, new, compression="zstd" if variant else "gzip", row_group_size=97)
        else:
            continue
        landed.copies[new.name] = name
    return landed


def _valid_final_records(originals: list[Path]) -> list[dict]:
    """Whole-looking final records of the JSON Lines originals (the templates of new events)."""
    records = []
    for path in originals:
        if not path.name.endswith((".jsonl", ".jsonl.gz")):
            continue
        for line in _read_bytes(path).decode("utf-8", "replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if (
                isinstance(record, dict)
                and record.get("status") == "success"
                and isinstance(record.get("completion_tokens"), int)
                and isinstance(record.get("prompt_tokens"), int)
                and isinstance(record.get("attempt"), int)
                and record.get("attempt") == 1
                and record.get("customer_id")
                and str(record.get("event_id", "")).startswith("evt_")
                and str(record.get("occurred_at", "")).endswith("Z")
                and str(record.get("emitted_at") or "Z").endswith("Z")
            ):
                records.append(record)
    return records


def late_and_reversions(
    landing: Path, originals: list[Path], seed: int, late: int, reversions: int, valid: set[str]
) -> Landed:
    """New events dated inside the lookback window (the last two days of the data) arriving now,
    and new versions (same event_id, a later emitted_at, more completion tokens) of existing
    events, in a new file. ``valid``: the event ids known valid, to pick re-versioned ones from."""
    rng = random.Random(seed)
    templates = [r for r in _valid_final_records(originals) if r["event_id"] in valid]
    last = max(_parse(r["occurred_at"]) for r in templates)
    landed = Landed()
    lines = []
    for i in range(late):
        record = dict(rng.choice(templates))
        occurred = last - timedelta(hours=rng.uniform(1, 40))
        record.update(
            event_id=f"late-{seed}-{i}",
            task_id=f"late-task-{seed}-{i}",
            occurred_at=_stamp(occurred),
            emitted_at=_stamp(occurred + timedelta(hours=30)),
        )
        record.pop("parent_event_id", None)
        record.pop("fallback_from_route", None)
        lines.append(json.dumps(record))
        landed.valid_ids.add(record["event_id"])
    seen = set()
    for record in rng.sample(templates, min(reversions, len(templates))):
        if record["event_id"] in seen:
            continue
        seen.add(record["event_id"])
        emitted = _parse(record.get("emitted_at") or record["occurred_at"])
        new = dict(record, emitted_at=_stamp(emitted + timedelta(hours=6)))
        new["completion_tokens"] = record["completion_tokens"] + 7
        lines.append(json.dumps(new))
        landed.valid_ids.add(record["event_id"])
    _write_jsonl(landing / f"torture-late-and-reversions-{seed}.jsonl", lines, compress=False)
    landed.notes.append(f"{late} late events, {len(seen)} re-versions")
    return landed


def hostile(landing: Path, originals: list[Path], seed: int, valid: set[str]) -> Landed:
    """Valid events whose event, customer, workspace, user, task and feature ids are hostile
    strings (SQL-looking, script-looking, quotes, unicode), in JSON Lines and CSV."""
    rng = random.Random(seed)
    templates = [r for r in _valid_final_records(originals) if r["event_id"] in valid]
    landed = Landed()
    records = []
    for i, text in enumerate(HOSTILE_IDS * 3):
        record = dict(rng.choice(templates))
        record.pop("parent_event_id", None)
        record.pop("fallback_from_route", None)
        record.update(
            event_id=f"{text} #{i}",
            customer_id=text,
            workspace_id=f"ws {text}",
            user_id=f"usr {text}",
            task_id=f"task {text} #{i}",
            feature=text,
        )
        records.append(record)
        landed.valid_ids.add(record["event_id"])
    half = len(records) // 2
    _write_jsonl(
        landing / "torture-hostile.jsonl",
        [json.dumps(r, ensure_ascii=False) for r in records[:half]],
        compress=False,
    )
    columns = list(dict.fromkeys(k for r in records[half:] for k in r))
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records[half:])
    (landing / "torture-hostile.csv").write_text(out.getvalue(), encoding="utf-8")
    return landed


# one broken record per kind; each maker gets a valid record and returns the broken line
def _set(**changes):
    return lambda r: json.dumps({**r, **changes})


def _drop(key):
    return lambda r: json.dumps({k: v for k, v in r.items() if k != key})


BROKEN_JSON_KINDS = {
    "bad_json": lambda r: json.dumps(r)[:-7],
    "not_an_object": lambda r: json.dumps([r]),
    "empty_line": lambda r: "",
    "missing_event_id": _drop("event_id"),
    "missing_occurred_at": _drop("occurred_at"),
    "missing_provider": _drop("provider"),
    "missing_model": _drop("model"),
    "first_attempt_missing_customer": _drop("customer_id"),
    "bad_timestamp": _set(occurred_at="yesterday at noon"),
    "future_timestamp": _set(occurred_at="2099-01-01T00:00:00Z"),
    "unknown_status": _set(status="exploded"),
    "unknown_outcome": _set(outcome="maybe"),
    "unknown_service_tier": _set(service_tier="platinum"),
    "negative_tokens": _set(prompt_tokens=-5),
    "fractional_tokens": _set(completion_tokens=12.5),
    "string_tokens": _set(prompt_tokens="many"),
    "attempt_zero": _set(attempt=0),
    "cached_exceeds_prompt": lambda r: json.dumps(
        {**r, "cached_prompt_tokens": r["prompt_tokens"] + 1}
    ),
    "reasoning_exceeds_completion": lambda r: json.dumps(
        {**r, "reasoning_tokens": r["completion_tokens"] + 1}
    ),
    "empty_event_id": _set(event_id=""),
    "null_provider": _set(provider=None),
}


def malformed(landing: Path, originals: list[Path], seed: int, per_kind: int) -> Landed:
    """``per_kind`` broken records of every kind in JSON Lines (plain and gzip), broken CSV rows
    (wrong column count, fractional and text token counts) and Parquet rows with broken values,
    and unreadable files: binary garbage, a truncated gzip, a Parquet file that is not one, an
    empty file, a CSV with no header. Every event id starts with ``bad-`` so none may load."""
    rng = random.Random(seed)
    templates = _valid_final_records(originals)
    landed = Landed()
    lines = []
    for kind, make in BROKEN_JSON_KINDS.items():
        for i in range(per_kind):
            record = dict(rng.choice(templates), event_id=f"bad-{kind}-{i}")
            lines.append(make(record))
    half = len(lines) // 2
    _write_jsonl(landing / "torture-malformed-a.jsonl", lines[:half], compress=False)
    _write_jsonl(landing / "torture-malformed-b.jsonl.gz", lines[half:], compress=True)
    landed.invalid_records += len(lines)

    columns = ["event_id", "occurred_at", "customer_id", "workspace_id", "feature", "task_id"]
    columns += ["attempt", "provider", "model", "route", "prompt_tokens", "completion_tokens"]
    columns += ["status", "outcome"]
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    csv_rows = 0
    for i in range(per_kind):
        base = rng.choice(templates)
        row = [base.get(c, "") for c in columns]
        for kind, broken in (
            ("short", row[:5]),
            ("long", [*row, "extra", "cells"]),
            ("fraction", [*row[:10], "1200.5", *row[11:]]),
            ("text", [*row[:11], "lots", *row[12:]]),
            ("no_date", [row[0], "", *row[2:]]),
        ):
            writer.writerow([f"bad-csv-{kind}-{i}", *broken[1:]])
            csv_rows += 1
    (landing / "torture-malformed.csv").write_text(out.getvalue())
    landed.invalid_records += csv_rows

    rows = []
    for i in range(per_kind):
        base = rng.choice(templates)
        for kind, changes in (
            ("negative", {"prompt_tokens": -1}),
            ("status", {"status": "bogus"}),
            ("cached", {"cached_prompt_tokens": base["prompt_tokens"] + 10}),
        ):
            rows.append(
                {**{c: base.get(c) for c in columns}, **changes, "event_id": f"bad-pq-{kind}-{i}"}
            )
    table = pa.Table.from_pylist(
        [{c: (None if r[c] is None else str(r[c])) for c in columns} for r in rows]
    )
    table = table.set_column(
        columns.index("prompt_tokens"),
        "prompt_tokens",
        pa.array([int(r["prompt_tokens"]) for r in rows], pa.int64()),
    )
    table = table.set_column(
        columns.index("attempt"), "attempt", pa.array([int(r["attempt"]) for r in rows], pa.int64())
    )
    table = table.set_column(
        columns.index("completion_tokens"),
        "completion_tokens",
        pa.array([int(r["completion_tokens"]) for r in rows], pa.int64()),
    )
    table = table.append_column(
        "cached_prompt_tokens",
        pa.array([r.get("cached_prompt_tokens") for r in rows], pa.int64()),
    )
    pq.write_table(table, landing / "torture-malformed.parquet")
    landed.invalid_records += len(rows)

    garbage = bytes(rng.getrandbits(8) for _ in range(4096))
    good_gzip = gzip.compress(("\n".join(json.dumps(t) for t in templates[:50]) + "\n").encode())
    unreadable = {
        "torture-garbage.jsonl": garbage,
        "torture-truncated.jsonl.gz": good_gzip[: len(good_gzip) // 2],
        "torture-not-parquet.parquet": b"PAR1" + garbage + b"PAR1",
        "torture-empty.jsonl": b"",
        "torture-garbage.csv.gz": gzip.compress(garbage, mtime=0),
    }
    for name, data in unreadable.items():
        (landing / name).write_bytes(data)
        landed.unreadable_files.append(name)
    return landed


def price_correction(pricing: Path, provider: str, model: str, valid_from: str) -> Path:
    """A negotiated sheet that changes a past price (docs/pricing.md): ``model``'s input and
    output per-million prices from ``valid_from``, open-ended."""
    path = pricing / "torture-correction.csv"
    path.write_text(
        "provider,model,component,usd_per_million_tokens,valid_from,valid_to\n"
        f"{provider},{model},input,0.123,{valid_from},\n"
        f"{provider},{model},output,0.456,{valid_from},\n"
    )
    return path
