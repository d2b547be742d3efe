"""The period of real traffic the calculator reads: the last full calendar month before the
latest call in the warehouse; when the warehouse holds no full month, every day it holds (the
same default the what-if scenarios use, interface §1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb


@dataclass(frozen=True)
class Period:
    start: date  # first day
    end: date  # the day after the last (exclusive)
    is_full_month: bool

    def describe(self) -> str:
        last = self.end - timedelta(days=1)
        if self.is_full_month:
            return f"{self.start:%Y-%m} ({self.start}..{last}, the last full month)"
        return f"{self.start}..{last} (every day the warehouse holds: it has no full month)"


def period_of(first_day: date, latest_day: date) -> Period:
    """The last full calendar month before ``latest_day`` when the data reaches back to its
    first day, else [first_day, latest_day]."""
    end = latest_day.replace(day=1)
    start = (end - timedelta(days=1)).replace(day=1)
    if first_day <= start:
        return Period(start, end, True)
    return Period(first_day, latest_day + timedelta(days=1), False)


def warehouse_period(con: duckdb.DuckDBPyConnection) -> Period | None:
    """The period of the warehouse's calls, or None when it holds none."""
    first, latest = con.execute(
        "select min(event_date), max(event_date) from marts.fct_llm_calls"
    ).fetchone()
    if latest is None:
        return None
    return period_of(first, latest)
