"""From calls to delivered records: stream start/final pairs, re-deliveries, late arrivals.

A record's ``file_day`` is the day of the file it lands in; ``arrival_ms`` orders records
inside a file.
"""

from __future__ import annotations

import numpy as np

from . import catalog as cat
from .frames import NULL, Frame, concat, length, take
from .tasks import DAY_MS

# record kinds (truth)
OK, DUPLICATE, STREAM_START, STREAM_FINAL, MALFORMED = range(5)
KINDS = ("ok", "duplicate_delivery", "stream_start", "stream_final", "malformed")

# timestamp offsets: suffix as written and minutes east of UTC
TZ_SUFFIX = ("Z", "+02:00", "+01:00", "-05:00", "+05:30", "-08:00", "")
TZ_MINUTES = np.array([0, 120, 60, -300, 330, -480, 0])
_TZ_P = np.array([0.88, 0.03, 0.03, 0.025, 0.01, 0.015, 0.01])

DUPLICATE_RATE = 0.01
LATE_RATE = 0.015
EXTRA_RATE = 0.004
INCOMPLETE_STREAM_RATE = 0.25  # of streamed, failing, non-final attempts
EMITTED_NULL = 0.15
PROVIDER_DISPLAY_RATE = 0.02
ATTEMPT_NULL_ON_FIRST = 0.02
TIER_NULL = 0.6  # standard tier logged as null


def expand_calls(rng: np.random.Generator, calls: Frame, force_incomplete: bool) -> Frame:
    """One record per call, two for streams (start + final), one for streams that never end."""
    n = length(calls)
    candidates = (
        calls["stream"] & ~calls["is_last"] & np.isin(calls["status"], (cat.TIMEOUT, cat.ERROR))
    )
    incomplete = candidates & (rng.random(n) < INCOMPLETE_STREAM_RATE)
    if force_incomplete and candidates.any() and not incomplete.any():
        incomplete[np.flatnonzero(candidates)[0]] = True
    call_frame = _call_columns(rng, calls, incomplete)

    main_rows = np.flatnonzero(~incomplete)
    main = take(call_frame, main_rows)
    main["kind"] = np.where(main["stream"], STREAM_FINAL, OK).astype(np.int64)
    emit = main["occ_ms"] + main["latency"]
    hide_emit = ~main["stream"] & (rng.random(main_rows.size) < EMITTED_NULL)
    main["emit_ms"] = np.where(hide_emit, NULL, emit)
    main["arrival_ms"] = emit

    start = take(call_frame, np.flatnonzero(calls["stream"]))
    m = length(start)
    start["kind"] = np.full(m, STREAM_START, dtype=np.int64)
    start["status"] = np.full(m, cat.IN_PROGRESS, dtype=np.int64)
    start["outcome"] = np.full(m, -1, dtype=np.int64)
    start["prompt"] = np.where(rng.random(m) < 0.5, start["prompt"], NULL)
    for key in ("cached", "cache_write", "completion", "reasoning", "latency", "retries"):
        start[key] = np.full(m, NULL, dtype=np.int64)
    start["emit_ms"] = start["occ_ms"].copy()
    start["arrival_ms"] = start["occ_ms"].copy()
    return concat([main, start])


def _call_columns(rng: np.random.Generator, calls: Frame, incomplete: np.ndarray) -> Frame:
    n = length(calls)
    first = calls["attempt"] == 1
    attempt = np.where(first & (rng.random(n) < ATTEMPT_NULL_ON_FIRST), NULL, calls["attempt"])
    tier = np.where(
        (calls["tier"] == cat.STANDARD) & (rng.random(n) < TIER_NULL), -1, calls["tier"]
    )
    return {
        "ev": calls["call"],
        "true_ev": calls["call"],
        "task_w": calls["task_written"],
        "true_task": calls["task"],
        "parent": calls["parent"],
        "attempt": attempt.astype(np.int64),
        "true_attempt": calls["attempt"],
        "customer": calls["customer"],
        "workspace": calls["workspace"],
        "feature": calls["feature"],
        "user": calls["user"],
        "provider": calls["provider"],
        "provider_display": rng.random(n) < PROVIDER_DISPLAY_RATE,
        "model": calls["model"],
        "route": calls["route"],
        "fallback_from": calls["fallback_from"],
        "tier": tier.astype(np.int64),
        "prompt": calls["prompt"],
        "cached": calls["cached"],
        "cache_write": calls["cache_write"],
        "completion": calls["completion"],
        "reasoning": calls["reasoning"],
        "retries": calls["retries"],
        "latency": calls["latency_ms"],
        "status": calls["status"],
        "outcome": calls["outcome"],
        "occ_ms": calls["occurred_ms"],
        "true_occ_ms": calls["occurred_ms"],
        "tz": rng.choice(len(TZ_SUFFIX), size=n, p=_TZ_P / _TZ_P.sum()).astype(np.int64),
        "extra": np.where(rng.random(n) < EXTRA_RATE, rng.integers(1, 4, n), 0).astype(np.int64),
        "fault": np.full(n, -1, dtype=np.int64),
        "is_late": np.zeros(n, dtype=bool),
        "dup_source": np.zeros(n, dtype=bool),
        "incomplete": incomplete,
        "stream": calls["stream"],
    }


def deliver(
    rng: np.random.Generator, records: Frame, day: int, last_day: int, day0_ms: int
) -> Frame:
    """Add re-delivered copies, push some records to later files, and set ``file_day``."""
    n = length(records)
    natural = np.clip((records["arrival_ms"] - day0_ms) // DAY_MS, day, last_day)
    dup_rows = np.flatnonzero(rng.random(n) < DUPLICATE_RATE)
    records["dup_source"][dup_rows] = True
    copies = take(records, dup_rows)
    m = dup_rows.size
    later = rng.random(m) < 0.3
    delay = np.where(
        later, rng.integers(DAY_MS, int(2.5 * DAY_MS), m), rng.integers(1_000, 2 * 3_600_000, m)
    )
    copies["arrival_ms"] = copies["arrival_ms"] + delay
    copies["kind"] = np.full(m, DUPLICATE, dtype=np.int64)
    copies["dup_source"] = np.zeros(m, dtype=bool)

    late = rng.random(n) < LATE_RATE
    shift = rng.choice([1, 2, 3], size=n, p=[0.6, 0.3, 0.1])
    late_arrival = (natural + shift) * DAY_MS + day0_ms + rng.integers(0, DAY_MS, n)
    records["arrival_ms"] = np.where(late, late_arrival, records["arrival_ms"])
    file_day = np.clip((records["arrival_ms"] - day0_ms) // DAY_MS, day, last_day)
    records["file_day"] = file_day
    records["is_late"] = file_day > natural
    copies["file_day"] = np.clip((copies["arrival_ms"] - day0_ms) // DAY_MS, day, last_day)
    copies["is_late"] = copies["is_late"] & False
    return concat([records, copies])
