"""ISO weeks: parse ``YYYY-Www``, and the Monday..Sunday dates of a week and of the one before."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$", re.ASCII)  # not other scripts' digits


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """``2025-W07`` → IsoWeek(2025, 7); raises ValueError saying what is expected."""
        match = _WEEK.match(text.strip())
        if not match:
            raise ValueError(
                f"--week {text!r} is not an ISO week: expected YYYY-Www, e.g. 2025-W07"
            )
        year, week = int(match[1]), int(match[2])
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"--week {text!r}: {year} has no ISO week {week}") from None
        return cls(year, week)

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @property
    def start(self) -> date:
        """Monday."""
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def end(self) -> date:
        """Sunday (inclusive)."""
        return self.start + timedelta(days=6)

    def previous(self) -> IsoWeek:
        return IsoWeek.of(self.start - timedelta(days=7))

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"
