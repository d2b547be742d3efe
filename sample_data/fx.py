"""Euro reference rates in the ECB's ``eurofxref-hist.csv`` layout (docs/fx-rates.md).

One row per TARGET business day (no weekends, no TARGET closing days: 1 January, Good Friday,
Easter Monday, 1 May, 25 and 26 December), newest first; one column per currency in the ECB's
order, each cell units of that currency per 1 EUR, written as the ECB writes them (the
currency's usual decimals, no trailing zeros); ``N/A`` for currencies the ECB no longer
publishes (and BGN from 2026, when Bulgaria joined the euro); the header and every row end with
a comma. Rates follow a small seeded random walk around recent levels.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

# currency: (rate per EUR around 2026, decimals the ECB publishes); None = no longer published
CURRENCIES: dict[str, tuple[float, int] | None] = {
    "USD": (1.17, 4),
    "JPY": (181.2, 2),
    "BGN": (1.9558, 4),
    "CYP": None,
    "CZK": (24.31, 3),
    "DKK": (7.4689, 4),
    "EEK": None,
    "GBP": (0.87, 5),
    "HUF": (386.4, 2),
    "LTL": None,
    "LVL": None,
    "MTL": None,
    "PLN": (4.2215, 4),
    "ROL": None,
    "RON": (5.0912, 4),
    "SEK": (10.917, 4),
    "SIT": None,
    "SKK": None,
    "CHF": (0.9352, 4),
    "ISK": (147.9, 1),
    "NOK": (11.792, 4),
    "HRK": None,
    "RUB": None,
    "TRL": None,
    "TRY": (49.873, 4),
    "AUD": (1.7612, 4),
    "BRL": (6.2876, 4),
    "CAD": (1.6213, 4),
    "CNY": (8.2731, 4),
    "HKD": (9.1462, 4),
    "IDR": (19512.4, 2),
    "ILS": (3.8127, 4),
    "INR": (104.6215, 4),
    "KRW": (1712.35, 2),
    "MXN": (21.3874, 4),
    "MYR": (4.8265, 4),
    "NZD": (2.0312, 4),
    "PHP": (68.812, 3),
    "SGD": (1.5164, 4),
    "THB": (37.312, 3),
    "ZAR": (19.8841, 4),
}
FIXED = {"BGN"}  # pegged: the same rate every day
DAILY_SD = 0.003  # sd of a day's log move


def target_holidays(year: int) -> set[dt.date]:
    """The TARGET2 closing days of a year (besides weekends)."""
    easter = _easter(year)
    return {
        dt.date(year, 1, 1),
        easter - dt.timedelta(days=2),
        easter + dt.timedelta(days=1),
        dt.date(year, 5, 1),
        dt.date(year, 12, 25),
        dt.date(year, 12, 26),
    }


def business_days(first: dt.date, last: dt.date) -> list[dt.date]:
    """TARGET business days from ``first`` to ``last`` inclusive, oldest first."""
    holidays = set().union(*(target_holidays(y) for y in range(first.year, last.year + 1)))
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    return [d for d in days if d.weekday() < 5 and d not in holidays]


def write_ecb_rates(path: Path, rng: np.random.Generator, first: dt.date, last: dt.date) -> Path:
    """Write ``eurofxref-hist.csv`` covering ``first`` to ``last``; returns the path."""
    days = business_days(first, last)
    names = list(CURRENCIES)
    moves = rng.normal(0.0, DAILY_SD, (len(days), len(names)))
    levels = np.exp(np.cumsum(moves, axis=0))
    rows = []
    for i, day in enumerate(days):
        cells = []
        for j, name in enumerate(names):
            spec = CURRENCIES[name]
            if spec is None or (name == "BGN" and day.year >= 2026):
                cells.append("N/A")
                continue
            base, decimals = spec
            rate = base if name in FIXED else base * levels[i, j]
            cells.append(_number(rate, decimals))
        rows.append(f"{day.isoformat()},{','.join(cells)},\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write("Date," + ",".join(names) + ",\n")
        fh.writelines(reversed(rows))
    tmp.replace(path)
    return path


def _number(rate: float, decimals: int) -> str:
    text = f"{rate:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _easter(year: int) -> dt.date:
    """Easter Sunday (Gregorian; the anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return dt.date(year, month, day + 1)
