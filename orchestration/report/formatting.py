"""One way to show a value of each column kind, shared by the terminal and the HTML report.

A value that rounds to zero is shown without a sign ("0.0 pts", never "-0.0 pts") and counts as
no change: its direction, arrow and colour follow what is shown, not the unrounded number."""

from __future__ import annotations

from decimal import Decimal

from orchestration.report.queries import (
    BUDGET_STATE,
    DELTA_INT,
    DELTA_REL,
    DELTA_USD,
    INT,
    PCT,
    PCT_POINTS,
    PERCENT,
    PERCENT_POINTS,
    RATIO,
    UNPRICED_REASON,
    USD,
    USD4,
)
from orchestration.report.wording import BUDGET_STATE_MEANING, budget_state, unpriced_reason

MISSING = "–"
CHANGE_KINDS = (DELTA_USD, DELTA_REL, DELTA_INT, PCT_POINTS, PERCENT_POINTS)
ARROWS = {"up": "▲", "down": "▼"}


def _unsigned_zero(text: str) -> str:
    """Drop the sign of a number that shows as zero: '-0.0 pts' → '0.0 pts', '+$0.00' → '$0.00'."""
    if text[:1] in "+-" and not any(ch in "123456789" for ch in text):
        return text[1:]
    return text


def _fmt(value, kind: str) -> str:
    if kind == INT:
        return f"{int(value):,}"
    if kind == USD:
        return f"{'-' if value < 0 else ''}${abs(Decimal(value)):,.2f}"
    if kind == USD4:
        return f"{'-' if value < 0 else ''}${abs(Decimal(value)):,.4f}"
    if kind == DELTA_INT:
        return f"{int(value):+,}"
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
    if kind == BUDGET_STATE:
        return budget_state(str(value))
    if kind == UNPRICED_REASON:
        return unpriced_reason(str(value))
    return str(value)


def fmt(value, kind: str) -> str:
    if value is None:
        return MISSING
    return _unsigned_zero(_fmt(value, kind))


def trend(value, kind: str) -> str:
    """'up', 'down' or '' for a change column: the direction of what is shown (a change that
    rounds to zero is no change)."""
    if value is None or kind not in CHANGE_KINDS:
        return ""
    if not any(ch in "123456789" for ch in fmt(value, kind)):
        return ""
    return "up" if value > 0 else "down"


def meaning(value, kind: str, better: str | None) -> str:
    """'good', 'bad', 'warn' or '' (neutral): what a value means for the business.

    A change is good when it goes the column's ``better`` way (margin up, cost down), bad when
    it goes the other way, neutral when the column has no better way or nothing changed. A budget
    state is bad or a warning by its severity."""
    if kind == BUDGET_STATE:
        return "" if value is None else BUDGET_STATE_MEANING.get(str(value), "")
    direction = trend(value, kind)
    if not direction or better is None:
        return ""
    return "good" if direction == better else "bad"


def arrow(value, kind: str) -> str:
    """▲ or ▼ for a change that shows as non-zero, '' otherwise."""
    return ARROWS.get(trend(value, kind), "")


def runaway_line(row: dict) -> str:
    """One runaway workspace-day in plain words (shared with the terminal)."""
    spent = fmt(row["spend_usd"], USD)
    if row["reason"] == "runaway_tasks":
        what = (
            f"spent {spent} with {row['runaway_tasks']:,} runaway task(s), up to "
            f"{row['max_task_attempts']:,} attempts in one"
        )
    else:
        ratio = row["spend_ratio"]
        usual = "" if ratio is None else f", {float(ratio):.1f}× its usual day"
        what = f"spent {spent}{usual}"
        if row["runaway_tasks"]:
            what += f", with {row['runaway_tasks']:,} runaway task(s)"
    return f"{row['spend_date']:%a %d %b}: {row['workspace_label']} {what}"


def provider_gap_line(row: dict) -> str:
    """One provider's yesterday in plain words: its report against our computed cost (shared
    by the terminal and the HTML report)."""
    head = f"Provider reports, {row['usage_date']:%Y-%m-%d}: {row['provider']}"
    computed = fmt(row["computed_cost_usd"], USD)
    if not row["is_reported"]:
        return (
            f"{head} has no usage or cost report loaded for the day; we computed {computed} "
            f"on {row['our_calls']:,} calls (is the report pull running?)."
        )
    pct = "" if row["gap_pct"] is None else f", {float(row['gap_pct']):+.1f} %"
    return (
        f"{head} charged {fmt(row['provider_cost_usd'], USD)}, we computed {computed} "
        f"({fmt(row['gap_usd'], DELTA_USD)}{pct}, tolerance {float(row['tolerance_pct']):g} %): "
        f"{row['largest_gap_cause']} on {row['largest_gap_model']} "
        f"({fmt(row['largest_gap_usd'], DELTA_USD)})."
    )


def small_runaways_line(health: dict) -> str:
    """The runaway workspace-days under the threshold, counted in one line (or '')."""
    count = health.get("small_runaways", 0)
    if not count:
        return ""
    return (
        f"{count:,} smaller runaway workspace-day(s) under {fmt(health['runaway_min_spend_usd'], USD)} "
        f"each ({fmt(health['small_runaways_usd'], USD)} together) are not listed; all are in "
        "marts.mart_runaway_workspaces."
    )
