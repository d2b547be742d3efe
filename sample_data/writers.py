"""Render a day's records as JSON Lines (plain or gzip), CSV or Parquet, vectorised with pyarrow.

Each field is first rendered to a nullable string column (JSON-quoted for JSON Lines); a record's
line is then the join of its non-null ``"field":value`` fragments. Files are written under a
hidden temporary name and renamed, so a reader never sees half a file. Gzip headers carry no
name and no time, so the same records always give the same bytes.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from orchestration.contract import field_names

from . import catalog as cat
from .faults import FAULT_CODE
from .frames import NULL, Frame, length, take
from .ids import render_ids
from .provider_reports import model_names
from .records import TZ_MINUTES, TZ_SUFFIX

CHUNK_ROWS = 10_000  # rows rendered at once: bounds the memory of the string columns
FORMAT_SUFFIX = {"jsonl.gz": ".jsonl.gz", "jsonl": ".jsonl", "csv": ".csv", "parquet": ".parquet"}
INT_FIELDS = (
    "attempt",
    "prompt_tokens",
    "cached_prompt_tokens",
    "cache_write_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "retries",
    "latency_ms",
)
EXTRA_REGION = "gateway_region"
EXTRA_TAGS = "request_tags"
_REQUEST_TAGS = (
    '{"team":"growth","env":"prod"}',
    '{"team":"platform","env":"prod","canary":true}',
    '{"env":"staging"}',
)
_WRONG_TYPE = (("prompt_tokens", "abc"), ("completion_tokens", "12 tokens"), ("latency_ms", "n/a"))
BAD_JSON_CUT = 60  # a truncated line: the gateway died mid-write
_BAD_TIMESTAMPS = ("not-a-timestamp", "2026-13-45T25:61:00Z", "31/11/2026 25:00")


@dataclass(frozen=True)
class IdText:
    """Rendered identifiers of the population and the id keys of the run."""

    customers: pa.Array
    workspaces: pa.Array
    users: pa.Array
    event_key: int
    task_key: int


def file_name(day: str, fmt: str) -> str:
    return f"usage-{day}{FORMAT_SUFFIX[fmt]}"


def write_day(path: Path, records: Frame, fmt: str, ids: IdText) -> None:
    """Write already-sorted records to ``path`` in ``fmt``, a chunk of rows at a time."""
    n = length(records)
    with_region = bool((records["extra"] > 0).any()) if fmt in ("csv", "parquet") else False
    tmp = path.with_name(f".{path.name}.tmp")
    chunks = [take(records, np.arange(i, min(i + CHUNK_ROWS, n))) for i in range(0, n, CHUNK_ROWS)]
    if fmt == "parquet":
        writer = None
        for chunk in chunks or [records]:
            table = _parquet_table(chunk, _values(chunk, ids, fmt), with_region)
            writer = writer or pq.ParquetWriter(tmp, table.schema, compression="zstd")
            writer.write_table(table)
        writer.close()
    else:
        with open(tmp, "wb") as raw:
            sink = raw
            if fmt == "jsonl.gz":
                sink = gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0)
            if fmt == "csv":
                sink.write(",".join(_csv_names(with_region)).encode("ascii") + b"\n")
            for chunk in chunks:
                values = _values(chunk, ids, fmt)
                if fmt == "csv":
                    sink.write(_csv_text(chunk, values, with_region))
                else:
                    sink.write(_jsonl_text(chunk, values))
            if sink is not raw:
                sink.close()
    os.replace(tmp, path)


_INT_SOURCE = {
    "attempt": "attempt",
    "prompt_tokens": "prompt",
    "cached_prompt_tokens": "cached",
    "cache_write_tokens": "cache_write",
    "completion_tokens": "completion",
    "reasoning_tokens": "reasoning",
    "retries": "retries",
    "latency_ms": "latency",
}


def _values(records: Frame, ids: IdText, fmt: str) -> dict[str, pa.Array]:
    """Every contract field as a nullable string column (plain text, not yet quoted)."""
    n = length(records)
    out: dict[str, pa.Array] = {
        "event_id": render_ids(records["ev"], "evt_", ids.event_key),
        "emitted_at": _timestamps(records["emit_ms"], records["tz"]),
        "occurred_at": _timestamps(records["occ_ms"], records["tz"]),
        "customer_id": _take(ids.customers, records["customer"]),
        "workspace_id": _take(ids.workspaces, records["workspace"]),
        "feature": _names([f.name for f in cat.FEATURES], records["feature"]),
        "user_id": _take(ids.users, records["user"]),
        "task_id": render_ids(records["task_w"], "task_", ids.task_key),
        "parent_event_id": render_ids(records["parent"], "evt_", ids.event_key),
        **{name: _ints(records[key]) for name, key in _INT_SOURCE.items()},
        "provider": _names(
            cat.PROVIDERS + cat.PROVIDER_DISPLAY,
            np.where(
                records["provider_display"] & (records["provider"] >= 0),
                records["provider"] + len(cat.PROVIDERS),
                records["provider"],
            ),
        ),
        "model": _names(model_names(), records["model"]),
        "route": _names([r.name for r in cat.ROUTES], records["route"]),
        "fallback_from_route": _names([r.name for r in cat.ROUTES], records["fallback_from"]),
        "service_tier": _names(cat.TIERS, records["tier"]),
        "status": _names(cat.STATUSES, records["status"]),
        "outcome": _names(cat.OUTCOMES, records["outcome"]),
    }
    assert set(out) == set(field_names()), "writer fields drifted from the contract"
    bad_ts = records["fault"] == FAULT_CODE["bad_timestamp"]
    if bad_ts.any():
        pick = records["true_ev"][bad_ts] % len(_BAD_TIMESTAMPS)
        out["occurred_at"] = pc.replace_with_mask(
            out["occurred_at"], pa.array(bad_ts), pa.array(np.array(_BAD_TIMESTAMPS)[pick])
        )
    region = np.array(cat.GATEWAY_REGIONS)[records["true_ev"] % len(cat.GATEWAY_REGIONS)]
    # JSON carries both extra fields; the tabular formats carry the region column only
    no_region = (records["extra"] & 1) == 0 if fmt.startswith("jsonl") else records["extra"] == 0
    out[EXTRA_REGION] = pa.array(region, mask=no_region)
    tags = np.array(_REQUEST_TAGS)[records["true_ev"] % len(_REQUEST_TAGS)]
    out[EXTRA_TAGS] = pa.array(tags, mask=(records["extra"] & 2) == 0)
    assert all(len(v) == n for v in out.values())
    return out


def _wrong_type_rows(fault: np.ndarray, true_ev: np.ndarray, field: int) -> np.ndarray:
    return (fault == FAULT_CODE["wrong_type"]) & (true_ev % len(_WRONG_TYPE) == field)


def _jsonl_text(records: Frame, values: dict[str, pa.Array]) -> bytes:
    fault = records["fault"]
    fragments = []
    for name in (*field_names(), EXTRA_REGION, EXTRA_TAGS):
        value = values[name]
        if name in INT_FIELDS or name == EXTRA_TAGS:
            text = value
        else:
            text = pc.binary_join_element_wise('"', value, '"', "")
        for i, (field, bad) in enumerate(_WRONG_TYPE):
            rows = _wrong_type_rows(fault, records["true_ev"], i)
            if field == name and rows.any():
                text = pc.replace_with_mask(
                    text, pa.array(rows), pa.array([f'"{bad}"'] * int(rows.sum()))
                )
        fragments.append(pc.binary_join_element_wise(f',"{name}":', text, ""))
    # null fragments become "" (null_handling="skip" drops all-null rows in pyarrow 26);
    # every fragment starts with a comma, so the joined text loses its first character
    joined = pc.binary_join_element_wise(
        *fragments, "", null_handling="replace", null_replacement=""
    )
    body = pc.utf8_slice_codeunits(joined, 1)
    lines = pc.binary_join_element_wise("{", body, "}", "")
    bad_json = fault == FAULT_CODE["bad_json"]
    if bad_json.any():
        cut = pc.utf8_slice_codeunits(lines.filter(pa.array(bad_json)), 0, BAD_JSON_CUT)
        lines = pc.replace_with_mask(lines, pa.array(bad_json), cut)
    empty = fault == FAULT_CODE["empty_line"]
    if empty.any():
        lines = pc.replace_with_mask(lines, pa.array(empty), pa.array([""] * int(empty.sum())))
    return _join_lines(lines)


def _csv_names(with_region: bool) -> list[str]:
    return [*field_names(), EXTRA_REGION] if with_region else list(field_names())


def _csv_text(records: Frame, values: dict[str, pa.Array], with_region: bool) -> bytes:
    fault = records["fault"]
    cells = []
    for name in _csv_names(with_region):
        text = values[name]
        for i, (field, bad) in enumerate(_WRONG_TYPE):
            rows = _wrong_type_rows(fault, records["true_ev"], i)
            if field == name and rows.any():
                text = pc.replace_with_mask(text, pa.array(rows), pa.array([bad] * int(rows.sum())))
        cells.append(text)
    lines = pc.binary_join_element_wise(*cells, ",", null_handling="replace", null_replacement="")
    wide = fault == FAULT_CODE["wrong_column_count"]
    if wide.any():
        lines = pc.replace_with_mask(
            lines,
            pa.array(wide),
            pc.binary_join_element_wise(lines.filter(pa.array(wide)), "unexpected", ","),
        )
    return _join_lines(lines)


def _parquet_table(records: Frame, values: dict[str, pa.Array], with_region: bool) -> pa.Table:
    columns = {}
    for name in field_names():
        if name in INT_FIELDS:
            raw = records[_INT_SOURCE[name]]
            columns[name] = pa.array(raw, mask=raw == NULL, type=pa.int64())
        else:
            columns[name] = pc.cast(values[name], pa.string())
    if with_region:
        columns[EXTRA_REGION] = pc.cast(values[EXTRA_REGION], pa.string())
    return pa.table(columns)


def _join_lines(lines: pa.Array) -> bytes:
    if len(lines) == 0:
        return b""
    return _string_buffer(pc.binary_join_element_wise(lines, "\n", ""))


def _string_buffer(arr: pa.Array) -> bytes:
    """The concatenated bytes of a string array without nulls (no per-row Python)."""
    arr = pa.concat_arrays([arr]) if isinstance(arr, pa.Array) else arr.combine_chunks()
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[
        arr.offset : arr.offset + len(arr) + 1
    ]
    data = arr.buffers()[2]
    return memoryview(data)[int(offsets[0]) : int(offsets[-1])].tobytes()


def _timestamps(ms: np.ndarray, tz: np.ndarray) -> pa.Array:
    missing = ms == NULL
    local = np.where(missing, 0, ms + TZ_MINUTES[tz] * 60_000).astype("datetime64[ms]")
    text = pa.array(np.datetime_as_string(local, unit="ms"))
    suffix = pa.array(np.array(TZ_SUFFIX)[tz])
    joined = pc.binary_join_element_wise(text, suffix, "")
    return pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), joined)


def _ints(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values, mask=values == NULL, type=pa.int64()), pa.string())


def _names(names, codes: np.ndarray) -> pa.Array:
    table = pa.array(list(names), type=pa.string())
    return _take(table, codes)


def _take(table: pa.Array, codes: np.ndarray) -> pa.Array:
    return table.take(pa.array(codes, mask=codes < 0, type=pa.int64()))
