"""Plain words for the codes the marts hold: the one mapping both renderers use.

A code the mapping does not know is shown as itself rather than dropped (a new state added to a
mart before its words are written here). Quarantine reasons come from the ingestion's own list
(``orchestration.ingest.reasons``), which docs/usage-events.md is tested against.
"""

from __future__ import annotations

from orchestration.ingest.reasons import quarantine_reason

# marts.mart_budget_status.state (docs/budgets.md, "States"), for a workspace's monthly hard cap.
BUDGET_STATES: dict[str, str] = {
    "ok": "on track",
    "soft_50": "past half of its cap",
    "soft_80": "past 80% of its cap",
    "projected_breach": "on course to exceed its cap this month",
    "over_budget": "over its cap",
}
# How a state reads at a glance: a state that needs action now is bad, one to watch is a warning.
BUDGET_STATE_MEANING: dict[str, str] = {
    "soft_50": "warn",
    "soft_80": "warn",
    "projected_breach": "bad",
    "over_budget": "bad",
}

# marts.mart_daily_ai_cost.unpriced_reason (docs/pricing.md).
UNPRICED_REASONS: dict[str, str] = {
    "unresolved_model": "no price file knows this model",
    "no_token_price": "the model's price has no per-token price",
}

# marts.mart_runaway_workspaces.reason (docs/tasks.md).
RUNAWAY_REASONS: dict[str, str] = {
    "spend_spike": "daily spend far above its usual day",
    "runaway_tasks": "runaway tasks (retry or agent loops)",
    "spend_spike_and_runaway_tasks": "daily spend far above its usual day, with runaway tasks",
}


def budget_state(code: str) -> str:
    return BUDGET_STATES.get(code, code)


def unpriced_reason(code: str) -> str:
    return UNPRICED_REASONS.get(code, code)


def runaway_reason(code: str) -> str:
    return RUNAWAY_REASONS.get(code, code)


__all__ = [
    "FURTHER_READING",
    "BUDGET_STATES",
    "BUDGET_STATE_MEANING",
    "RUNAWAY_REASONS",
    "UNPRICED_REASONS",
    "budget_state",
    "quarantine_reason",
    "runaway_reason",
    "unpriced_reason",
]


# The last line of both reports: where to go for more than the report shows.
FURTHER_READING = (
    "To slice these numbers further, ask the dbt metrics: "
    "llm-margin metrics query --metrics gross_margin,revenue,ai_cost "
    "--group-by customer_month__plan_id (docs/semantic-layer.md); "
    "BI tools open the same tables (docs/serving.md)."
)
