"""A check on ``audit.budget_alerts``: every recorded alert agrees with the spend it fired on.

The table is written by the budget-alerts asset, not by dbt, so no dbt test reaches it; the
serving copy publishes it with the rest of the audit schema (docs/budgets.md).
"""

from __future__ import annotations

import duckdb
from dagster import AssetCheckResult, MetadataValue, asset_check

from orchestration.alerts.assets import BUDGET_ALERTS
from orchestration.alerts.rules import (
    ABUSE_RUNAWAY_LOOP,
    ABUSE_SPEND_SPIKE,
    HARD_100,
    HARD_CAP,
    PROJECTED_BREACH,
    SEVERITY,
    SOFT_50,
    SOFT_80,
)
from orchestration.alerts.store import TABLE
from orchestration.data_lock import writer_step
from orchestration.pools import WAREHOUSE_POOL
from orchestration.settings import Settings
from orchestration.sql_text import literal

# What each threshold means, as documented in docs/budgets.md, over the row's recorded figures.
# A projected breach fires before the budget is reached (over-budget is its own threshold).
_RULE_BY_THRESHOLD = {
    SOFT_50: "budget_usd > 0 and spend_usd >= budget_usd * 0.5",
    SOFT_80: "budget_usd > 0 and spend_usd >= budget_usd * 0.8",
    PROJECTED_BREACH: "spend_usd > 0 and spend_usd < budget_usd",
    HARD_100: "spend_usd > 0 and spend_usd >= budget_usd",
    HARD_CAP: "spend_usd > 0 and spend_usd >= budget_usd",
    ABUSE_RUNAWAY_LOOP: "scope = 'workspace'",
    ABUSE_SPEND_SPIKE: "scope = 'workspace'",
}


def _literal(text: str) -> str:
    return literal(text)


def inconsistent_alerts_sql() -> str:
    """The alerts whose threshold, severity, delivery or figures disagree with the rules."""
    rule = " ".join(
        f"when {_literal(threshold)} then {condition}"
        for threshold, condition in _RULE_BY_THRESHOLD.items()
    )
    severity = " ".join(
        f"when {_literal(threshold)} then {_literal(level)}"
        for threshold, level in SEVERITY.items()
    )
    return (
        "select alert_id, scope, scope_id, threshold, severity, delivery, "
        "cast(spend_usd as double), cast(budget_usd as double) "
        f"from {TABLE} "
        "where not coalesce("
        "delivery in ('outbox', 'superseded') "
        f"and severity = (case threshold {severity} end) "
        f"and (case threshold {rule} else false end), false) "
        "order by scope, scope_id, threshold"
    )


@asset_check(
    asset=BUDGET_ALERTS,
    pool=WAREHOUSE_POOL,  # opens the warehouse file: never while a step writes it
    description=(
        "Every recorded alert agrees with the spend it fired on: a 50% or 80% alert at or above "
        "that share of its budget, an over-budget or hard-cap alert at or above the budget, a "
        "projected breach before the budget was reached, abuse alerts on workspaces only; each "
        "with its threshold's severity, and either queued for the webhook or superseded by a "
        "more severe alert of the same run."
    ),
)
@writer_step
def alerts_agree_with_their_thresholds(settings: Settings) -> AssetCheckResult:
    with duckdb.connect(str(settings.paths().warehouse), read_only=True) as con:
        recorded = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'audit' and table_name = 'budget_alerts'"
        ).fetchone()[0]
        rows = con.execute(inconsistent_alerts_sql()).fetchall() if recorded else []
        alerts = con.execute(f"select count(*) from {TABLE}").fetchone()[0] if recorded else 0
    table = ["| scope | id | threshold | severity | delivery | spend | budget |"]
    table += ["|---|---|---|---|---|---|---|"]
    table += [
        f"| {scope} | {scope_id} | {threshold} | {level} | {delivery} | {spend} | {budget} |"
        for _, scope, scope_id, threshold, level, delivery, spend, budget in rows[:50]
    ]
    return AssetCheckResult(
        passed=not rows,
        metadata={
            "alerts_recorded": alerts,
            "alerts_inconsistent": len(rows),
            "inconsistent": MetadataValue.md("\n".join(table)),
        },
    )
