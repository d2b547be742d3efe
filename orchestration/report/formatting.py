"""One way to show a value of each column kind, shared by the terminal and the HTML report."""

from __future__ import annotations

from decimal import Decimal

from orchestration.report.queries import (
    DELTA_REL,
    DELTA_USD,
    INT,
    PCT,
    PCT_POINTS,
    PERCENT,
    PERCENT_POINTS,
    RATIO,
    USD,
    USD4,
)

MISSING = "–"


def fmt(value, kind: str) -> str:
    if value is None:
        return MISSING
    if kind == INT:
        return f"{int(value):,}"
    if kind == USD:
        return f"{'-' if value < 0 else ''}${abs(Decimal(value)):,.2f}"
    if kind == USD4:
        return f"{'-' if value < 0 else ''}${abs(Decimal(value)):,.4f}"
    if kind == DELTA_USD:
        return f"{'+' if value >= 0 else '-'}${abs(Decimal(value)):,.2f}"
    if kind == PCT:
        return f"{float(value):.1%}"
    if kind == PCT_POINTS:
        return f"{float(value) * 100:+.1f} pts"
    if kind == DELTA_REL:
        return f"{float(value):+.1%}"
    if kind == PERCENT:
        return f"{float(value):.1f}%"
    if kind == PERCENT_POINTS:
        return f"{float(value):+.1f} pts"
    if kind == RATIO:
        return f"{float(value):.1f}x"
    return str(value)


def trend(value, kind: str) -> str:
    """'up', 'down' or '' for a change column (decides its colour in HTML)."""
    if value is None or kind not in (DELTA_USD, DELTA_REL, PCT_POINTS, PERCENT_POINTS):
        return ""
    return "up" if value > 0 else "down" if value < 0 else ""
