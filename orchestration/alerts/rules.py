"""Which alerts a budget row or a runaway workspace-day raises: pure functions, no I/O.

An alert is identified by (scope, scope_id, threshold, period_start): its ``alert_id`` is a hash
of those four, so the same crossing always yields the same id, in every run and after a restart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

SOFT_50 = "soft_50"
SOFT_80 = "soft_80"
PROJECTED_BREACH = "projected_breach"
HARD_100 = "hard_100"
HARD_CAP = "hard_cap"
ABUSE_RUNAWAY_LOOP = "abuse_runaway_loop"
ABUSE_SPEND_SPIKE = "abuse_spend_spike"

# Budget thresholds in order of severity: when one evaluation crosses several of one scope and
# period at once, every one is recorded (so none fires later) but only the most severe is sent.
BUDGET_THRESHOLD_RANK = {SOFT_50: 1, SOFT_80: 2, PROJECTED_BREACH: 3, HARD_100: 4, HARD_CAP: 4}
SEVERITY = {
    SOFT_50: "soft",
    SOFT_80: "soft",
    PROJECTED_BREACH: "early",
    HARD_100: "hard",
    HARD_CAP: "hard",
    ABUSE_RUNAWAY_LOOP: "abuse",
    ABUSE_SPEND_SPIKE: "abuse",
}


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def alert_id(scope: str, scope_id: str, threshold: str, period_start: date) -> str:
    key = f"{scope}|{scope_id}|{threshold}|{period_start.isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Alert:
    scope: str
    scope_id: str
    customer_id: str | None
    threshold: str
    period_start: date
    period_grain: str  # 'month' for budgets, 'day' for abuse
    as_of: datetime
    spend_usd: Decimal | None = None
    budget_usd: Decimal | None = None
    share_used: float | None = None
    projected_spend_usd: Decimal | None = None
    projected_share: float | None = None
    detail: str = ""
    evidence: tuple[str, ...] = field(default=())

    @property
    def alert_id(self) -> str:
        return alert_id(self.scope, self.scope_id, self.threshold, self.period_start)

    @property
    def severity(self) -> str:
        return SEVERITY[self.threshold]

    @property
    def dedupe_key(self) -> tuple[str, str, str, date]:
        return (self.scope, self.scope_id, self.threshold, self.period_start)

    def text(self) -> str:
        """One Slack-ready line."""
        who = f"{self.scope} `{self.scope_id}`"
        if self.customer_id and self.customer_id != self.scope_id:
            who += f" (customer `{self.customer_id}`)"
        month = self.period_start.strftime("%Y-%m")
        money = f"${self.spend_usd:,.2f}" if self.spend_usd is not None else "?"
        cap = f"${self.budget_usd:,.2f}" if self.budget_usd is not None else "?"
        share = f"{self.share_used:.0%}" if self.share_used is not None else "n/a"
        if self.threshold in (SOFT_50, SOFT_80):
            return f":warning: {who} used {share} of its {month} AI budget ({money} of {cap})."
        if self.threshold == PROJECTED_BREACH:
            projected = f"${self.projected_spend_usd:,.2f}" if self.projected_spend_usd else "?"
            return (
                f":chart_with_upwards_trend: {who} is on course to exceed its {month} AI budget: "
                f"{projected} projected by month end against {cap} ({money} spent so far, {share})."
            )
        if self.threshold == HARD_CAP:
            return f":no_entry: {who} reached its {month} hard cap: {money} spent, cap {cap}."
        if self.threshold == HARD_100:
            return f":rotating_light: {who} is over its {month} AI budget: {money} spent of {cap} ({share})."
        day = self.period_start.isoformat()
        return f":robot_face: {who} flagged as abusive on {day} ({self.detail}); spend {money}."

    def fields(self) -> dict[str, Any]:
        """The structured part of the webhook body (JSON-safe)."""

        def num(value: Decimal | float | None) -> float | None:
            return None if value is None else float(value)

        return {
            "alert_id": self.alert_id,
            "scope": self.scope,
            "scope_id": self.scope_id,
            "customer_id": self.customer_id,
            "threshold": self.threshold,
            "severity": self.severity,
            "period_start": self.period_start.isoformat(),
            "period_grain": self.period_grain,
            "as_of": self.as_of.isoformat() + ("Z" if self.as_of.tzinfo is None else ""),
            "spend_usd": num(self.spend_usd),
            "budget_usd": num(self.budget_usd),
            "share_used": self.share_used,
            "projected_spend_usd": num(self.projected_spend_usd),
            "projected_share": self.projected_share,
            "detail": self.detail,
            "evidence": list(self.evidence),
        }

    def payload(self) -> dict[str, Any]:
        """Slack-compatible (``text``) with the structured alert beside it."""
        return {"text": self.text(), "alert": self.fields()}


def crossed_thresholds(row: Mapping[str, Any]) -> list[str]:
    """Every threshold a ``marts.mart_budget_status`` row has crossed, least severe first.

    The mart decides which thresholds a row crossed (its ``has_reached_50_pct``,
    ``has_reached_80_pct``, ``is_projected_breach`` and ``is_over_budget`` flags, pinned by its
    dbt unit tests); this only names the alert each flag raises, so the rule lives in one place."""
    crossed: list[str] = []
    if row["has_reached_50_pct"]:
        crossed.append(SOFT_50)
    if row["has_reached_80_pct"]:
        crossed.append(SOFT_80)
    if row["is_projected_breach"]:
        crossed.append(PROJECTED_BREACH)
    if row["is_over_budget"]:
        crossed.append(HARD_CAP if row["budget_source"] == "workspace_hard_cap" else HARD_100)
    return crossed


def budget_alerts(rows: Iterable[Mapping[str, Any]]) -> list[Alert]:
    """Alerts for rows of ``marts.mart_budget_status`` (the caller passes the latest period)."""
    alerts = []
    for row in rows:
        spend = _decimal(row["spend_usd"]) or Decimal(0)
        budget = _decimal(row["budget_usd"]) or Decimal(0)
        projected = _decimal(row["projected_spend_usd"]) or Decimal(0)
        for threshold in crossed_thresholds(row):
            alerts.append(
                Alert(
                    scope=row["scope"],
                    scope_id=row["scope_id"],
                    customer_id=row.get("customer_id"),
                    threshold=threshold,
                    period_start=row["period_start"],
                    period_grain="month",
                    as_of=row["as_of"],
                    spend_usd=spend,
                    budget_usd=budget,
                    share_used=row.get("share_used"),
                    projected_spend_usd=projected,
                    projected_share=row.get("projected_share"),
                    detail=f"budget: {row['budget_source']}",
                )
            )
    return alerts


def abuse_alerts(rows: Iterable[Mapping[str, Any]], as_of: datetime) -> list[Alert]:
    """Alerts for rows of ``marts.mart_runaway_workspaces`` (workspace-days): runaway loops
    (runaway tasks, fct_tasks.is_runaway) and spend spikes, once per workspace, reason and day."""
    alerts = []
    for row in rows:
        evidence = tuple(row.get("runaway_task_ids") or ())
        common = dict(
            scope="workspace",
            scope_id=row["workspace_id"],
            customer_id=row.get("customer_id"),
            period_start=row["spend_date"],
            period_grain="day",
            as_of=as_of,
            spend_usd=_decimal(row["spend_usd"]),
            evidence=evidence,
        )
        if (row.get("runaway_tasks") or 0) > 0:
            alerts.append(
                Alert(
                    threshold=ABUSE_RUNAWAY_LOOP,
                    detail=f"{row['runaway_tasks']} runaway task(s), up to "
                    f"{row.get('max_task_attempts')} attempts in one task",
                    **common,
                )
            )
        if str(row.get("reason", "")).startswith("spend_spike"):
            ratio = row.get("spend_ratio")
            alerts.append(
                Alert(
                    threshold=ABUSE_SPEND_SPIKE,
                    detail="daily spend "
                    + (f"{ratio:.1f}x" if ratio is not None else "far above")
                    + " its baseline median",
                    **common,
                )
            )
    return alerts


def to_send(new_alerts: list[Alert]) -> set[str]:
    """The ids to deliver among newly fired alerts: every abuse alert, and per scope and period
    only the most severe new budget threshold (the others are recorded as superseded)."""
    best: dict[tuple[str, str, date], Alert] = {}
    send: set[str] = set()
    for alert in new_alerts:
        if alert.threshold not in BUDGET_THRESHOLD_RANK:
            send.add(alert.alert_id)
            continue
        key = (alert.scope, alert.scope_id, alert.period_start)
        current = best.get(key)
        if (
            current is None
            or BUDGET_THRESHOLD_RANK[alert.threshold] > BUDGET_THRESHOLD_RANK[current.threshold]
        ):
            best[key] = alert
    return send | {alert.alert_id for alert in best.values()}
