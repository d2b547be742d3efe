"""Planted malformed records: every kind at least once per run, the rest at a small rate.

A victim is always a single-record call (not streamed, not re-delivered, no extra fields), so
once its record is quarantined the call is gone from the valid data: the truth never counts it.
Faults that only exist as text (bad JSON, wrong type, bad timestamp, a CSV row with the wrong
number of cells, an empty line) are marked here and written by the writers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import catalog as cat
from .frames import NULL, Frame, concat, length, take
from .records import MALFORMED, OK

FAULTS: tuple[str, ...] = (
    "bad_json",
    "empty_line",
    "missing_event_id",
    "missing_occurred_at",
    "missing_provider",
    "missing_model",
    "wrong_type",
    "negative_tokens",
    "cached_exceeds_prompt",
    "reasoning_exceeds_completion",
    "unknown_status",
    "unknown_outcome",
    "unknown_service_tier",
    "bad_timestamp",
    "future_timestamp",
    "attempt_zero",
    "final_missing_completion",
    "first_attempt_missing_customer",
    "wrong_column_count",
)
FAULT_CODE = {name: i for i, name in enumerate(FAULTS)}
MALFORMED_RATE = 0.004
FUTURE_YEARS_MS = int(10 * 365.25 * 86_400_000)

_TEXT_ONLY = {"bad_json", "empty_line"}
_NOT_PARQUET = {"bad_json", "empty_line", "wrong_type", "wrong_column_count"}


def supports(fmt: str, fault: str) -> bool:
    """Whether a file format can carry the fault."""
    if fault == "wrong_column_count":
        return fmt == "csv"
    if fmt == "csv":
        return fault not in _TEXT_ONLY
    if fmt == "parquet":
        return fault not in _NOT_PARQUET
    return True  # JSON Lines, plain or gzip


def plan_mandatory(rng: np.random.Generator, formats: Sequence[str]) -> dict[int, list[str]]:
    """For each fault, one day whose file format carries it; one wrong-width row per CSV file."""
    plan: dict[int, list[str]] = {}
    for fault in FAULTS:
        if fault == "wrong_column_count":
            days = [d for d, fmt in enumerate(formats) if fmt == "csv"]
        else:
            candidates = [d for d, fmt in enumerate(formats) if supports(fmt, fault)]
            days = [candidates[int(rng.integers(0, len(candidates)))]] if candidates else []
        for d in days:
            plan.setdefault(d, []).append(fault)
    return plan


def plant(
    rng: np.random.Generator,
    records: Frame,
    day: int,
    formats: Sequence[str],
    mandatory: Sequence[str],
    day_start_ms: int,
) -> Frame:
    """Corrupt some records of the day and add empty lines; returns the frame with them."""
    n = length(records)
    if n == 0:
        return records
    base = (
        (records["kind"] == OK)
        & ~records["stream"]
        & ~records["dup_source"]
        & (records["extra"] == 0)
        & (records["true_ev"] >= 0)
    )
    random_kinds = [f for f in FAULTS if f != "wrong_column_count"]
    extra = int(rng.binomial(n, MALFORMED_RATE)) if n else 0
    counts = np.bincount(rng.integers(0, len(random_kinds), extra), minlength=len(random_kinds))
    wanted = {fault: int(c) for fault, c in zip(random_kinds, counts, strict=True)}
    for fault in mandatory:
        wanted[fault] = wanted.get(fault, 0) + 1
    empty_rows: list[Frame] = []
    for fault in FAULTS:
        count = wanted.get(fault, 0)
        if not count:
            continue
        if fault == "empty_line":
            if supports(formats[day], fault):
                empty_rows += [_empty_line(rng, records, day, day_start_ms) for _ in range(count)]
            continue
        ok = base & _eligible(records, fault)
        ok &= np.array([supports(f, fault) for f in formats])[records["file_day"]]
        if fault == "wrong_column_count":
            ok &= records["file_day"] == day
        pool = np.flatnonzero(ok)
        if not pool.size:
            continue
        rows = rng.choice(pool, size=min(count, pool.size), replace=False)
        base[rows] = False
        for row in np.sort(rows):
            _apply(rng, records, int(row), fault)
    return concat([records, *empty_rows])


def _eligible(records: Frame, fault: str) -> np.ndarray:
    if fault == "first_attempt_missing_customer":
        return (records["true_attempt"] == 1) & (records["customer"] >= 0)
    if fault == "final_missing_completion":
        return (records["status"] == cat.SUCCESS) & (records["completion"] != NULL)
    if fault in ("negative_tokens", "cached_exceeds_prompt"):
        return records["prompt"] != NULL
    if fault == "reasoning_exceeds_completion":
        return records["completion"] != NULL
    return np.ones(length(records), dtype=bool)


def _apply(rng: np.random.Generator, records: Frame, row: int, fault: str) -> None:
    records["kind"][row] = MALFORMED
    records["fault"][row] = FAULT_CODE[fault]
    if fault == "missing_event_id":
        records["ev"][row] = -1
    elif fault == "missing_occurred_at":
        records["occ_ms"][row] = NULL
    elif fault == "missing_provider":
        records["provider"][row] = -1
    elif fault == "missing_model":
        records["model"][row] = -1
    elif fault == "negative_tokens":
        records["prompt"][row] = -int(rng.integers(1, 5_000))
    elif fault == "cached_exceeds_prompt":
        records["cached"][row] = records["prompt"][row] + int(rng.integers(1, 500))
    elif fault == "reasoning_exceeds_completion":
        records["reasoning"][row] = records["completion"][row] + int(rng.integers(1, 300))
    elif fault == "unknown_status":
        records["status"][row] = cat.UNKNOWN_STATUS
    elif fault == "unknown_outcome":
        records["outcome"][row] = cat.UNKNOWN_OUTCOME
    elif fault == "unknown_service_tier":
        records["tier"][row] = cat.UNKNOWN_TIER
    elif fault == "future_timestamp":
        records["occ_ms"][row] = records["occ_ms"][row] + FUTURE_YEARS_MS
    elif fault == "attempt_zero":
        records["attempt"][row] = 0
    elif fault == "final_missing_completion":
        records["completion"][row] = NULL
        records["reasoning"][row] = NULL
    elif fault == "first_attempt_missing_customer":
        records["customer"][row] = -1
    # bad_json, wrong_type, bad_timestamp, wrong_column_count: rendered by the writers


def _empty_line(rng: np.random.Generator, records: Frame, day: int, day_start_ms: int) -> Frame:
    """A blank line in the day's JSON file: a record of its own with no call behind it."""
    row = take(records, np.array([0]))
    for key, value in row.items():
        if value.dtype == bool:
            value[:] = False
        elif key in (
            "prompt",
            "cached",
            "cache_write",
            "completion",
            "reasoning",
            "retries",
            "latency",
            "attempt",
            "occ_ms",
            "emit_ms",
            "true_occ_ms",
        ):
            value[:] = NULL
        else:
            value[:] = -1
    row["kind"][:] = MALFORMED
    row["fault"][:] = FAULT_CODE["empty_line"]
    row["file_day"][:] = day
    row["tz"][:] = 0
    row["extra"][:] = 0
    row["arrival_ms"][:] = day_start_ms + int(rng.integers(0, 86_400_000))
    return row
