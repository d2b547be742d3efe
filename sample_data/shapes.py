"""The same traffic in other source shapes: OTLP trace files and LiteLLM spend logs.

``generate()`` writes usage-event contract files. Other sources carry only each call's final
state, so everything here starts from ``final_records(data_dir)``: per event id the valid final
version, read back from the landing files the truth points at. From those records:

* ``write_otlp`` writes OpenTelemetry trace files as the Collector's ``file`` exporter does (one
  ``ExportTraceServiceRequest`` JSON object per line): one trace per task, a root span per task
  carrying the task's tags and one GenAI client span per call attempt;
* ``write_litellm`` / ``litellm_rows`` give one ``LiteLLM_SpendLogs`` row per call attempt, with a
  gateway-reported ``spend`` that is wrong on purpose (see ``LITELLM_FLAT_USD_PER_MTOK``).

Each writer is the exact inverse of what its ingestion reads; same records in, same bytes out.
Planted faults (``faults=True``) are extra lines, spans or rows beside the real ones: every final
record is still written exactly once, and the returned ``faults`` say where each fault is.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from orchestration.contract import TIMESTAMP_FIELDS, field_names, fields

# landing/<dir> each shape is written to
SHAPE_DIRS = {"contract": "usage_events", "otel": "otel", "litellm": "litellm"}
MAX_CHAIN_DEPTH = 500  # as dbt_project.yml's max_chain_depth: parent chains followed this deep

_INT_FIELDS = tuple(f.name for f in fields() if f.kind == "integer")
_NS_PER_MS = 1_000_000
_EPOCH = dt.datetime(1970, 1, 1)


# -- the final records --------------------------------------------------------------------------


def final_records(data_dir: Path) -> pd.DataFrame:
    """The contract records a source other than contract files carries: one per event id.

    From a finished ``generate()`` run in ``data_dir``: the records the truth
    (``truth/events.parquet``) marks as not malformed, read back from their landing file (JSON
    Lines by line, CSV by data row, Parquet by row). Per event id the final version wins (status
    not ``in_progress``), then the latest ``emitted_at`` (``occurred_at`` where null), then the
    later position in file-name order. Events with only a stream start record (incomplete
    streams) are left out; ``attrs["incomplete_event_ids"]`` names them and
    ``attrs["incomplete_streams"]`` counts them.

    Columns: the contract fields in contract order; timestamps ``datetime64[ns, UTC]`` (NaT for
    null), counts ``Int64``, the rest ``object`` with ``None`` for null. Values are as written
    (``emitted_at`` may be null; a provider may be spelled ``OpenAI``). Sorted by
    ``occurred_at``, then ``event_id``.
    """
    data_dir = Path(data_dir)
    truth = pq.read_table(
        data_dir / "truth" / "events.parquet",
        columns=["file", "file_format", "line", "event_id", "kind"],
    ).to_pylist()
    wanted: dict[str, tuple[str, dict[int, str]]] = {}
    for row in truth:
        if row["kind"] != "malformed":
            wanted.setdefault(row["file"], (row["file_format"], {}))[1][row["line"]] = row[
                "event_id"
            ]
    raw: list[dict] = []
    position: list[tuple[int, int]] = []
    for order, name in enumerate(sorted(wanted)):
        fmt, lines = wanted[name]
        for line, record in _read_lines(data_dir / "landing" / "usage_events" / name, fmt, lines):
            if record.get("event_id") != lines[line]:
                raise ValueError(
                    f"{name} line {line}: event_id {record.get('event_id')!r}, the truth says "
                    f"{lines[line]!r}"
                )
            raw.append(record)
            position.append((order, line))
    frame = _typed(raw)
    frame["_order"] = [p[0] for p in position]
    frame["_line"] = [p[1] for p in position]
    frame["_final"] = (frame["status"] != "in_progress").astype(int)
    frame["_emitted"] = frame["emitted_at"].fillna(frame["occurred_at"])
    frame = frame.sort_values(["event_id", "_final", "_emitted", "_order", "_line"], kind="stable")
    chosen = frame.drop_duplicates("event_id", keep="last")
    incomplete = sorted(chosen.loc[chosen["_final"] == 0, "event_id"])
    out = chosen[chosen["_final"] == 1][list(field_names())]
    out = out.sort_values(["occurred_at", "event_id"], kind="stable").reset_index(drop=True)
    out.attrs["incomplete_streams"] = len(incomplete)
    out.attrs["incomplete_event_ids"] = incomplete
    # The tags of unfinished streams that opened a task: the request span of that task still
    # carries them (the app knew its customer before the call that never ended).
    unfinished = chosen[(chosen["_final"] == 0) & chosen["task_id"].notna()]
    out.attrs["unfinished_task_tags"] = {
        row.task_id: (
            int(pd.Timestamp(row.occurred_at).value),
            {
                k: getattr(row, k)
                for k in ("customer_id", "workspace_id", "feature", "user_id")
                if not _null(getattr(row, k))
            },
        )
        for row in unfinished.itertuples()
    }
    out.attrs["records_read"] = len(raw)
    return out


def _read_lines(path: Path, fmt: str, lines: dict[int, str]) -> Iterator[tuple[int, dict]]:
    """(1-based line or data row, raw record) of the wanted positions of one landing file."""
    if fmt == "parquet":
        rows = pq.read_table(path).to_pylist()
        for line in sorted(lines):
            yield line, rows[line - 1]
    elif fmt == "csv":
        reader = csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline=""))
        header = next(reader)
        for number, cells in enumerate(reader, start=1):
            if number in lines:
                yield (
                    number,
                    {k: (v if v != "" else None) for k, v in zip(header, cells, strict=True)},
                )
    else:
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
        physical = data.split(b"\n")
        for line in sorted(lines):
            yield line, json.loads(physical[line - 1])


def _typed(raw: list[dict]) -> pd.DataFrame:
    columns: dict[str, Any] = {}
    for name in field_names():
        values = [record.get(name) for record in raw]
        if name in _INT_FIELDS:
            columns[name] = pd.array([_whole(v) for v in values], dtype="Int64")
        elif name in TIMESTAMP_FIELDS:
            parsed = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601")
            columns[name] = parsed.astype("datetime64[ns, UTC]")
        else:
            columns[name] = pd.Series([None if v is None else str(v) for v in values], dtype=object)
    return pd.DataFrame(columns)


def _whole(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        return int(value.strip())
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"not a whole number: {value!r}")
    return int(value)


def task_keys(records: pd.DataFrame) -> pd.Series:
    """Each record's task as the warehouse derives it (int_attempts_chained_to_tasks).

    A record's own ``task_id``; else, following ``parent_event_id`` through records without a
    ``task_id`` (among ``records`` only), the first one's ``task_id`` or, when it has none, its
    ``event_id`` (a derived task). Circular chains and chains deeper than ``MAX_CHAIN_DEPTH`` are
    cut: such a record is its own task."""
    keys, _ = _task_keys(records)
    return pd.Series(keys, index=records.index, name="task_key", dtype=object)


def _task_keys(records: pd.DataFrame) -> tuple[list[str], list[bool]]:
    """Task keys and whether each is derived (no task_id: the chain's first event id)."""
    events = records["event_id"].tolist()
    tasks = [None if _null(t) else t for t in records["task_id"].tolist()]
    parents = [None if _null(p) else p for p in records["parent_event_id"].tolist()]
    at = {e: i for i, e in enumerate(events)}
    keys, derived = [], []
    for i in range(len(events)):
        j, depth, seen = i, 0, {i}
        while tasks[j] is None and parents[j] in at:
            j = at[parents[j]]
            depth += 1
            if j in seen or depth > MAX_CHAIN_DEPTH:
                j = i
                break
            seen.add(j)
        keys.append(tasks[j] if tasks[j] is not None else events[j])
        derived.append(tasks[j] is None)
    return keys, derived


def _null(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


@dataclass(frozen=True)
class _Calls:
    """The records as plain Python lists, in ``records`` order."""

    rows: list[dict]  # contract field -> value (None for null; timestamps as ns since epoch)
    start_ns: list[int]
    end_ns: list[int]
    synthetic_end: list[bool]  # latency_ms was null: the end is start + 1 ms
    task_key: list[str]
    first_of_task: dict[str, int]  # task key -> row of its first attempt
    derived: set[str]  # task keys without a task_id (the first event id of a parent chain)


def _calls(records: pd.DataFrame) -> _Calls:
    names = list(field_names())
    columns = {}
    for name in names:
        series = records[name]
        if name in TIMESTAMP_FIELDS:
            ns = series.astype("datetime64[ns, UTC]")
            columns[name] = [None if pd.isna(v) else int(v.value) for v in ns]
        else:
            columns[name] = [
                None if _null(v) else (int(v) if name in _INT_FIELDS else v) for v in series
            ]
    rows = [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    start = [r["occurred_at"] for r in rows]
    if any(s is None for s in start):
        raise ValueError("every record needs occurred_at")
    synthetic = [r["latency_ms"] is None for r in rows]
    end = [
        s + (_NS_PER_MS if r["latency_ms"] is None else r["latency_ms"] * _NS_PER_MS)
        for s, r in zip(start, rows, strict=True)
    ]
    keys, derived = _task_keys(records)
    for row, key in zip(rows, keys, strict=True):
        row["_task_key"] = key
    first: dict[str, int] = {}
    order = sorted(
        range(len(rows)),
        key=lambda i: (start[i], _or(rows[i]["attempt"], 1), rows[i]["event_id"]),
    )
    for i in order:
        first.setdefault(keys[i], i)
    derived_keys = {k for k, d in zip(keys, derived, strict=True) if d}
    return _Calls(rows, start, end, synthetic, keys, first, derived_keys)


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _hex(kind: str, text: str, width: int) -> str:
    return hashlib.sha256(f"{kind}:{text}".encode()).hexdigest()[:width]


def trace_id(task_key: str) -> str:
    """The OTLP trace id of a task (32 lowercase hex)."""
    return _hex("trace", task_key, 32)


def root_span_id(task_key: str) -> str:
    """The span id of a task's root span (16 lowercase hex)."""
    return _hex("root", task_key, 16)


def span_id(event_id: str) -> str:
    """The span id of a call attempt's GenAI span (16 lowercase hex)."""
    return _hex("span", event_id, 16)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _gzip(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=6, mtime=0) as sink:
        sink.write(data)
    return buffer.getvalue()


def _refuse_existing(out_dir: Path, pattern: str) -> None:
    existing = sorted(out_dir.glob(pattern))
    if existing:
        raise FileExistsError(
            f"{out_dir} already holds {len(existing)} file(s) like {pattern}; write to an empty "
            "directory so two data sets do not mix"
        )


# -- OTLP ---------------------------------------------------------------------------------------

OTLP_SERVICE = "sample-app"
OTLP_SCOPE = {"name": "opentelemetry.instrumentation.openai", "version": "0.40.0"}
ROOT_SPAN_NAME = "handle task"
SPAN_KIND_INTERNAL, SPAN_KIND_CLIENT = 1, 3
STATUS_CODE_ERROR = 2
# contract status -> (error.type, status message)
OTLP_ERRORS = {
    "timeout": ("timeout", "Request timed out."),
    "rate_limited": ("429", "Error code: 429 - Rate limit reached for requests"),
    "cancelled": ("cancelled", "The request was cancelled by the client."),
    "invalid_output": ("invalid_output", "The model output failed validation."),
    "error": ("500", "Error code: 500 - The server had an error while processing your request."),
}
LEGACY_SHARE = 0.1  # share of tasks whose spans use the older gen_ai attribute names


@dataclass(frozen=True)
class OtlpWritten:
    """What ``write_otlp`` wrote. ``faults``: see ``write_otlp``."""

    files: list[Path]
    genai_spans: int
    root_spans: int
    lines: int  # lines written, planted ones included
    legacy_task_keys: list[str]  # tasks whose spans use the older attribute names
    synthetic_end_event_ids: list[str]  # latency_ms was null: span end = start + 1 ms
    faults: dict[str, list[dict]] = field(default_factory=dict)


def write_otlp(
    records: pd.DataFrame,
    out_dir: Path,
    *,
    lines_per_file: int = 20,
    spans_per_line: int = 50,
    gzip_every: int = 2,
    legacy_share: float = LEGACY_SHARE,
    seed: int = 0,
    faults: bool = False,
) -> OtlpWritten:
    """Write ``records`` (``final_records``) as the Collector's file exporter writes traces.

    One trace per task (``task_keys``): a root span ``handle task`` with the task's tags from its
    first attempt, and one GenAI client span per record. Spans are exported as they end: ordered
    by end time (children before a root ending at the same nanosecond, then span id), cut into
    lines of ``spans_per_line`` spans and files of ``lines_per_file`` lines, named
    ``traces-000001.jsonl`` upwards in export order; file number n is gzipped
    (``traces-00000n.jsonl.gz``, gzip mtime 0) when ``gzip_every`` divides n (0: never).

    About ``legacy_share`` of the tasks (chosen from ``seed`` and the task key) use the older
    attribute names on their GenAI spans: ``gen_ai.system``, ``gen_ai.usage.prompt_tokens``,
    ``gen_ai.usage.completion_tokens``.

    ``faults=True`` adds, at places chosen from ``seed``, and returns in ``faults`` as
    ``{fault: [{"file": name, "line": 1-based line, ...}]}``:

    * ``truncated_line``: a copy of a real line cut in the middle of its JSON, just before it;
    * ``missing_model``: an extra GenAI span (a copy of a real one under a new span id, in a real
      trace) with no model attribute at all and the name ``chat``;
    * ``negative_output_tokens``: an extra GenAI span with a negative
      ``gen_ai.usage.output_tokens``;
    * ``duplicate_line``: a real line exported twice in a row (``duplicate_of_line`` = its first
      copy; the Collector retrying).

    The real spans all stay, so ``records`` are still all there exactly once.
    """
    if lines_per_file < 1 or spans_per_line < 1:
        raise ValueError("lines_per_file and spans_per_line must be at least 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _refuse_existing(out_dir, "traces-*.jsonl*")
    calls = _calls(records)
    legacy = {
        key
        for key in calls.first_of_task
        if int(_hex(f"legacy-{seed}", key, 8), 16) < legacy_share * 2**32
    }

    entries: list[tuple[int, int, str, dict]] = []  # end, is root, span id, span
    for i, row in enumerate(calls.rows):
        span = _genai_span(row, calls.start_ns[i], calls.end_ns[i], calls.task_key[i] in legacy)
        entries.append((calls.end_ns[i], 0, span["spanId"], span))
    task_end: dict[str, int] = {}
    for key, end in zip(calls.task_key, calls.end_ns, strict=True):
        task_end[key] = max(end, task_end.get(key, end))
    unfinished = records.attrs.get("unfinished_task_tags", {})
    for key, first in calls.first_of_task.items():
        tagged = calls.rows[first]
        opened = unfinished.get(key)
        if opened is not None and opened[0] <= calls.start_ns[first]:
            tagged = {**tagged, **opened[1]}  # the task began with a stream that never ended
        span = _root_span(
            key, key not in calls.derived, tagged, calls.start_ns[first], task_end[key]
        )
        entries.append((task_end[key], 1, span["spanId"], span))
    entries.sort(key=lambda e: e[:3])
    lines = [
        [e[3] for e in entries[k : k + spans_per_line]]
        for k in range(0, len(entries), spans_per_line)
    ]

    rng = random.Random(seed)
    tags: dict[int, list[tuple[str, dict]]] = {}  # line index -> planted faults on it
    truncate_at = duplicate_at = -1
    if faults and lines:
        line_of = {span["spanId"]: n for n, spans in enumerate(lines) for span in spans}
        modern = [i for i in range(len(calls.rows)) if calls.task_key[i] not in legacy] or list(
            range(len(calls.rows))
        )
        for name in ("missing_model", "negative_output_tokens"):
            i = modern[rng.randrange(len(modern))]
            span, extra = _fault_span(name, calls, i, rng)
            n = line_of[span_id(calls.rows[i]["event_id"])]
            lines[n].append(span)
            tags.setdefault(n, []).append((name, extra))
        spare = [n for n in range(len(lines)) if n not in tags] or list(range(len(lines)))
        truncate_at = spare[rng.randrange(len(spare))]
        duplicate_at = spare[rng.randrange(len(spare))]

    texts = [_request_json(spans) for spans in lines]
    files: list[list[tuple[str, list[tuple[str, dict]]]]] = []
    for k in range(0, len(texts), lines_per_file):
        out: list[tuple[str, list[tuple[str, dict]]]] = []
        for n in range(k, min(k + lines_per_file, len(texts))):
            if n == truncate_at:
                out.append((texts[n][: len(texts[n]) // 2], [("truncated_line", {})]))
            out.append((texts[n], tags.get(n, [])))
            if n == duplicate_at:
                out.append((texts[n], [("duplicate_line", {})]))
        files.append(out)

    written: list[Path] = []
    planted: dict[str, list[dict]] = {}
    for number, file_lines in enumerate(files, start=1):
        gz = gzip_every > 0 and number % gzip_every == 0
        path = out_dir / f"traces-{number:06d}.jsonl{'.gz' if gz else ''}"
        data = "".join(text + "\n" for text, _ in file_lines).encode("utf-8")
        _write_atomic(path, _gzip(data) if gz else data)
        written.append(path)
        for line, (_, marks) in enumerate(file_lines, start=1):
            for name, extra in marks:
                where = {"file": path.name, "line": line, **extra}
                if name == "duplicate_line":
                    where["duplicate_of_line"] = line - 1
                planted.setdefault(name, []).append(where)
    return OtlpWritten(
        files=written,
        genai_spans=len(calls.rows),
        root_spans=len(calls.first_of_task),
        lines=sum(len(f) for f in files),
        legacy_task_keys=sorted(legacy),
        synthetic_end_event_ids=sorted(
            r["event_id"] for r, s in zip(calls.rows, calls.synthetic_end, strict=True) if s
        ),
        faults=planted,
    )


def _string(key: str, value: str) -> dict:
    return {"key": key, "value": {"stringValue": value}}


def _int(key: str, value: int) -> dict:
    return {"key": key, "value": {"intValue": str(int(value))}}  # OTLP JSON: int64 as a string


def _genai_span(row: dict, start: int, end: int, legacy: bool) -> dict:
    attributes = [
        _string("gen_ai.operation.name", "chat"),
        _string("gen_ai.system" if legacy else "gen_ai.provider.name", row["provider"]),
        _string("gen_ai.request.model", row["model"]),
        _string("gen_ai.response.model", row["model"]),
        _int(
            "gen_ai.usage.prompt_tokens" if legacy else "gen_ai.usage.input_tokens",
            row["prompt_tokens"] or 0,
        ),
        _int(
            "gen_ai.usage.completion_tokens" if legacy else "gen_ai.usage.output_tokens",
            row["completion_tokens"] or 0,
        ),
    ]
    optional_ints = (
        ("gen_ai.usage.cache_read.input_tokens", "cached_prompt_tokens"),
        ("gen_ai.usage.cache_creation.input_tokens", "cache_write_tokens"),
        ("gen_ai.usage.reasoning.output_tokens", "reasoning_tokens"),
    )
    attributes += [_int(k, row[f]) for k, f in optional_ints if row[f] is not None]
    if row["route"] is not None:
        attributes.append(_string("llm_margin.route", row["route"]))
    if row["service_tier"] not in (None, "standard"):
        attributes.append(_string("openai.response.service_tier", row["service_tier"]))
    if row["outcome"] is not None:
        attributes.append(_string("llm_margin.outcome", row["outcome"]))
    status: dict = {}
    if row["status"] not in (None, "success"):
        error_type, message = OTLP_ERRORS[row["status"]]
        attributes.append(_string("error.type", error_type))
        status = {"code": STATUS_CODE_ERROR, "message": message}
    return {
        "traceId": trace_id(_task_of(row)),
        "spanId": span_id(row["event_id"]),
        "parentSpanId": root_span_id(_task_of(row)),
        "name": f"chat {row['model']}",
        "kind": SPAN_KIND_CLIENT,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
        "attributes": attributes,
        "status": status,
    }


def _task_of(row: dict) -> str:
    return row["_task_key"]


def _root_span(key: str, has_task_id: bool, first: dict, start: int, end: int) -> dict:
    tags = (
        ("llm_margin.customer_id", first["customer_id"]),
        ("llm_margin.workspace_id", first["workspace_id"]),
        ("llm_margin.feature", first["feature"]),
        ("llm_margin.task_id", key if has_task_id else None),
        ("user.id", first["user_id"]),
    )
    return {
        "traceId": trace_id(key),
        "spanId": root_span_id(key),
        "name": ROOT_SPAN_NAME,
        "kind": SPAN_KIND_INTERNAL,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
        "attributes": [_string(k, v) for k, v in tags if v is not None],
        "status": {},
    }


def _fault_span(name: str, calls: _Calls, i: int, rng: random.Random) -> tuple[dict, dict]:
    row = calls.rows[i]
    span = _genai_span(row, calls.start_ns[i], calls.end_ns[i], legacy=False)
    span["spanId"] = _hex(f"fault-{name}", row["event_id"], 16)
    extra: dict[str, Any] = {"trace_id": span["traceId"], "span_id": span["spanId"]}
    if name == "missing_model":
        span["name"] = "chat"
        span["attributes"] = [
            a
            for a in span["attributes"]
            if a["key"] not in ("gen_ai.request.model", "gen_ai.response.model")
        ]
    else:
        value = -rng.randint(1, 5_000)
        for a in span["attributes"]:
            if a["key"] == "gen_ai.usage.output_tokens":
                a["value"] = {"intValue": str(value)}
        extra["value"] = value
    return span, extra


def _request_json(spans: list[dict]) -> str:
    request = {
        "resourceSpans": [
            {
                "resource": {"attributes": [_string("service.name", OTLP_SERVICE)]},
                "scopeSpans": [{"scope": OTLP_SCOPE, "spans": spans}],
            }
        ]
    }
    return json.dumps(request, separators=(",", ":"), ensure_ascii=False)


# -- LiteLLM spend logs -------------------------------------------------------------------------

# What the gateway charges, on purpose not what the providers bill: one flat USD rate per million
# tokens, the model's list price for uncached input (mid-2025), applied to prompt + completion
# tokens alike. Cache reads and writes, the higher output price, reasoning, service tiers and
# DeepSeek's night discount are all ignored, so ``spend`` is wrong the way a misconfigured
# gateway price map is wrong. A model not listed here costs 0.
LITELLM_FLAT_USD_PER_MTOK: dict[str, float] = {
    "gpt-4o": 2.50,
    "gpt-4o-mini": 0.15,
    "gpt-4.1": 2.00,
    "o3-mini": 1.10,
    "o4-mini": 1.10,
    "claude-sonnet-4-20250514": 3.00,
    "claude-3-5-sonnet-20241022": 3.00,
    "claude-3-5-haiku-20241022": 0.80,
    "gemini-2.5-flash": 0.30,
    "gemini-2.5-pro": 1.25,
    "deepseek-chat": 0.27,
    "deepseek-reasoner": 0.55,
    "mistral-large-latest": 2.00,
    "mistral-small-latest": 0.10,
}
LITELLM_API_BASE = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com/v1",
    "google": "https://generativelanguage.googleapis.com/v1beta",
    "deepseek": "https://api.deepseek.com/v1",
    "mistral": "https://api.mistral.ai/v1",
}
# contract status -> (error_class, error_code) of a failed call
LITELLM_ERRORS = {
    "timeout": ("Timeout", "408"),
    "rate_limited": ("RateLimitError", "429"),
    "cancelled": ("Cancelled", "499"),
    "invalid_output": ("InvalidOutputError", "422"),
    "error": ("APIError", "500"),
}
# the hashed virtual key the sample app calls the proxy with (LiteLLM stores sha256 of the key)
LITELLM_API_KEY = hashlib.sha256(b"sk-llm-margin-sample-app").hexdigest()
# columns of LiteLLM_SpendLogs written (a subset of the table; the rest keep their defaults)
LITELLM_COLUMNS = (
    "request_id",
    "call_type",
    "api_key",
    "spend",
    "total_tokens",
    "prompt_tokens",
    "completion_tokens",
    "startTime",
    "endTime",
    "model",
    "model_group",
    "custom_llm_provider",
    "api_base",
    "user",
    "metadata",
    "cache_hit",
    "request_tags",
    "team_id",
    "end_user",
    "session_id",
    "status",
)


def litellm_spend(model: str | None, prompt_tokens: int, completion_tokens: int) -> float:
    """The gateway's (deliberately wrong) cost of one call, USD: see LITELLM_FLAT_USD_PER_MTOK."""
    rate = LITELLM_FLAT_USD_PER_MTOK.get(model or "", 0.0)
    return round((prompt_tokens + completion_tokens) * rate / 1_000_000, 10)


def litellm_rows(records: pd.DataFrame) -> list[dict]:
    """One ``LiteLLM_SpendLogs`` row per record (``final_records``), in the order the proxy
    writes them (end time, then request id), ready to insert into PostgreSQL.

    ``startTime`` / ``endTime`` are naive UTC ``datetime`` values (LiteLLM's ``timestamp(3)``
    columns), ``endTime`` = start + ``latency_ms`` (start where null); ``metadata`` is a dict and
    ``request_tags`` a list (JSONB: wrap them, e.g. ``psycopg.types.json.Jsonb``); a null contract
    value is ``None``. See ``write_litellm`` for the columns."""
    calls = _calls(records)
    order = sorted(
        range(len(calls.rows)),
        key=lambda i: (_litellm_end(calls, i), calls.rows[i]["event_id"]),
    )
    return [_litellm_row(calls, i) for i in order]


def _litellm_end(calls: _Calls, i: int) -> int:
    return calls.start_ns[i] if calls.synthetic_end[i] else calls.end_ns[i]


def _naive(ns: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=ns // 1_000)


def _litellm_row(calls: _Calls, i: int) -> dict:
    r = calls.rows[i]
    prompt, completion = _or(r["prompt_tokens"], 0), _or(r["completion_tokens"], 0)
    failed = r["status"] not in (None, "success")
    tags = {
        "customer_id": r["customer_id"],
        "workspace_id": r["workspace_id"],
        "feature": r["feature"],
        "task_id": r["task_id"],
    }
    if r["outcome"] is not None:
        tags["outcome"] = r["outcome"]
    if r["service_tier"] not in (None, "standard"):
        tags["service_tier"] = r["service_tier"]
    # not in LiteLLM's vocabulary: what the app sends so retries without a task_id still chain
    for key in ("parent_event_id", "attempt"):
        if r[key] is not None:
            tags[key] = r[key]
    metadata: dict[str, Any] = {
        "usage_object": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": r["cached_prompt_tokens"]},
            "cache_read_input_tokens": r["cached_prompt_tokens"],
            "cache_creation_input_tokens": r["cache_write_tokens"],
            "completion_tokens_details": {"reasoning_tokens": r["reasoning_tokens"]},
        },
        "user_api_key_team_id": r["workspace_id"],
        "spend_logs_metadata": tags,
        "status": "failure" if failed else "success",
    }
    if failed:
        error_class, error_code = LITELLM_ERRORS[r["status"]]
        metadata["error_information"] = {"error_class": error_class, "error_code": error_code}
    return {
        "request_id": r["event_id"],
        "call_type": "acompletion",
        "api_key": LITELLM_API_KEY,
        "spend": litellm_spend(r["model"], prompt, completion),
        "total_tokens": prompt + completion,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "startTime": _naive(calls.start_ns[i]),
        "endTime": _naive(_litellm_end(calls, i)),
        "model": r["model"],
        "model_group": r["route"],
        "custom_llm_provider": r["provider"],
        "api_base": LITELLM_API_BASE.get(r["provider"].lower(), ""),
        "user": r["user_id"],
        "metadata": metadata,
        "cache_hit": "False",
        "request_tags": [f"feature:{r['feature']}", "env:prod"]
        if r["feature"] is not None
        else ["env:prod"],
        "team_id": r["workspace_id"],
        "end_user": r["customer_id"],
        "session_id": r["task_id"],
        "status": "failure" if failed else "success",
    }


@dataclass(frozen=True)
class LitellmWritten:
    """What ``write_litellm`` wrote. ``faults``: see ``write_litellm``."""

    files: list[Path]
    rows: int  # real rows (planted ones not included)
    faults: dict[str, list[dict]] = field(default_factory=dict)


def write_litellm(
    records: pd.DataFrame,
    out_dir: Path,
    *,
    fmt: str = "jsonl",
    rows_per_file: int = 5_000,
    seed: int = 0,
    faults: bool = False,
) -> LitellmWritten:
    """Write ``litellm_rows(records)`` as ``spend_logs-000001.jsonl`` (or ``.csv``) upwards,
    ``rows_per_file`` rows each (planted rows come on top).

    JSON Lines: one object per row with the columns of ``LITELLM_COLUMNS``; ``metadata`` a JSON
    object, ``request_tags`` a JSON list, null as ``null``. CSV: a header row, ``metadata`` and
    ``request_tags`` as JSON text cells, null as an empty cell. Times are ISO-8601 without an
    offset, in UTC, to the millisecond (``2026-11-20T10:00:00.123``), as LiteLLM stores them.

    ``faults=True`` inserts extra rows (copies of real rows under new request ids), at places
    chosen from ``seed``, returned in ``faults`` as ``{fault: [{"file", "row", "request_id"}]}``
    (``row``: 1-based data row, the CSV header excluded): ``broken_metadata`` (the metadata JSON
    text cut in half, in JSON Lines a string), ``negative_completion_tokens`` and
    ``missing_model`` (empty ``model`` and ``model_group``).
    """
    if fmt not in ("jsonl", "csv"):
        raise ValueError(f"fmt must be 'jsonl' or 'csv', not {fmt!r}")
    if rows_per_file < 1:
        raise ValueError("rows_per_file must be at least 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _refuse_existing(out_dir, "spend_logs-*")
    rows = litellm_rows(records)
    entries: list[tuple[dict, str | None]] = [(row, None) for row in rows]
    if faults and rows:
        rng = random.Random(seed)
        for name in ("broken_metadata", "negative_completion_tokens", "missing_model"):
            source = rows[rng.randrange(len(rows))]
            entries.insert(rng.randrange(len(entries) + 1), (_fault_row(name, source, rng), name))

    written: list[Path] = []
    planted: dict[str, list[dict]] = {}
    chunks, current, real = [], [], 0
    for entry in entries:
        current.append(entry)
        real += entry[1] is None
        if real == rows_per_file:
            chunks.append(current)
            current, real = [], 0
    if current:
        chunks.append(current)
    for number, chunk in enumerate(chunks, start=1):
        path = out_dir / f"spend_logs-{number:06d}.{fmt}"
        _write_atomic(path, _litellm_text([row for row, _ in chunk], fmt))
        written.append(path)
        for line, (row, name) in enumerate(chunk, start=1):
            if name:
                planted.setdefault(name, []).append(
                    {"file": path.name, "row": line, "request_id": row["request_id"]}
                )
    return LitellmWritten(files=written, rows=len(rows), faults=planted)


def _fault_row(name: str, source: dict, rng: random.Random) -> dict:
    row = copy.deepcopy(source)
    row["request_id"] = "fault_" + _hex(name, source["request_id"], 16)
    if name == "broken_metadata":
        text = _json(row["metadata"])
        row["metadata"] = text[: len(text) // 2]
    elif name == "negative_completion_tokens":
        value = -rng.randint(1, 5_000)
        row["completion_tokens"] = value
        row["total_tokens"] = row["prompt_tokens"] + value
        usage = row["metadata"]["usage_object"]
        usage["completion_tokens"], usage["total_tokens"] = value, row["total_tokens"]
    else:
        row["model"] = row["model_group"] = ""
    return row


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _litellm_text(rows: list[dict], fmt: str) -> bytes:
    def cell(value: Any, as_json: bool) -> Any:
        if isinstance(value, dt.datetime):
            return value.isoformat(timespec="milliseconds")
        if as_json and isinstance(value, dict | list):
            return _json(value)
        return value

    if fmt == "jsonl":
        return "".join(
            _json({k: cell(row[k], False) for k in LITELLM_COLUMNS}) + "\n" for row in rows
        ).encode("utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(LITELLM_COLUMNS)
    for row in rows:
        values = [cell(row[k], True) for k in LITELLM_COLUMNS]
        writer.writerow(
            ["" if v is None else repr(v) if isinstance(v, float) else v for v in values]
        )
    return buffer.getvalue().encode("utf-8")


# -- the CLI's `generate --shape` ---------------------------------------------------------------


@dataclass(frozen=True)
class ShapeGenerated:
    generation: Any  # sample_data.GenerationSummary of the contract run behind it
    records: int  # final records written in the shape
    incomplete_streams: int  # events left out: only a stream start record
    directory: Path  # landing/otel or landing/litellm
    written: OtlpWritten | LitellmWritten


def generate_shape(
    data_dir: Path, shape: str, *, faults: bool = True, seed: int = 7, **generate_args: Any
) -> ShapeGenerated:
    """``generate()`` into a temporary directory, then write its final records as ``shape``
    (``otel`` or ``litellm``) under ``data_dir/landing/<shape>/``; the other landing files
    (billing, pricing, provider invoices) and ``truth/`` are copied over unchanged, and
    ``truth/shape.json`` says what was written (files, counts, planted faults). No
    ``landing/usage_events`` files are written."""
    if shape not in ("otel", "litellm"):
        raise ValueError(f"shape must be 'otel' or 'litellm', not {shape!r}")
    from . import generate

    data_dir = Path(data_dir)
    with tempfile.TemporaryDirectory(prefix="llm-margin-generate-") as tmp:
        source = Path(tmp) / "data"
        summary = generate(source, seed=seed, **generate_args)
        records = final_records(source)
        directory = data_dir / "landing" / SHAPE_DIRS[shape]
        if shape == "otel":
            written: OtlpWritten | LitellmWritten = write_otlp(
                records, directory, seed=seed, faults=faults
            )
        else:
            written = write_litellm(records, directory, seed=seed, faults=faults)
        for sub in sorted((source / "landing").iterdir()):
            if sub.is_dir() and sub.name != "usage_events":
                shutil.copytree(sub, data_dir / "landing" / sub.name, dirs_exist_ok=True)
        shutil.copytree(source / "truth", data_dir / "truth", dirs_exist_ok=True)
    about = {
        "shape": shape,
        "directory": str(directory.relative_to(data_dir)),
        "files": [p.name for p in written.files],
        "records": len(records),
        "incomplete_streams_left_out": records.attrs["incomplete_event_ids"],
        "faults": written.faults,
    }
    if isinstance(written, OtlpWritten):
        about |= {
            "genai_spans": written.genai_spans,
            "root_spans": written.root_spans,
            "legacy_attribute_tasks": len(written.legacy_task_keys),
            "synthetic_end_event_ids": written.synthetic_end_event_ids,
        }
    (data_dir / "truth" / "shape.json").write_text(json.dumps(about, indent=2) + "\n")
    return ShapeGenerated(
        summary, len(records), records.attrs["incomplete_streams"], directory, written
    )
