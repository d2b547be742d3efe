"""Budget sensors: start the alerts run on each materialization of the budget mart, and deliver
the webhook outbox on every tick (docs/budgets.md)."""

from dagster import (
    AssetKey,
    DefaultSensorStatus,
    EventLogEntry,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    asset_sensor,
    sensor,
)

from orchestration.alerts.assets import BUDGET_STATUS
from orchestration.alerts.outbox import Outbox, outbox_path
from orchestration.jobs import budget_alerts_job
from orchestration.settings import WEBHOOK_URL_ENV, Settings

OUTBOX_INTERVAL_SECONDS = 30


def budget_run_key(event: EventLogEntry) -> str:
    """One alerts run per materialization of the mart (its run and time identify it)."""
    return f"mart_budget_status:{event.run_id}:{event.timestamp:.6f}"


@asset_sensor(
    asset_key=AssetKey(BUDGET_STATUS.path),
    job=budget_alerts_job,
    name="budget_threshold_sensor",
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "On each materialization of marts.mart_budget_status, runs the budget_alerts job: soft "
        "alerts at 50% and 80%, hard at 100% or a workspace cap, early on a projected breach, "
        "abuse on runaway loops and workspaces; each fires once (audit.budget_alerts)."
    ),
)
def budget_threshold_sensor(context: SensorEvaluationContext, asset_event: EventLogEntry):
    return RunRequest(
        run_key=budget_run_key(asset_event),
        tags={
            "llm_margin/trigger": "mart_budget_status",
            "llm_margin/source_run": asset_event.run_id,
        },
    )


@sensor(
    name="webhook_outbox_sensor",
    minimum_interval_seconds=OUTBOX_INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        f"Delivers queued alerts whose backoff has expired to ${WEBHOOK_URL_ENV}; a message "
        "stays queued until a 2xx answer. Runs nothing, never touches the warehouse."
    ),
)
def webhook_outbox_sensor(context: SensorEvaluationContext, settings: Settings):
    report = Outbox(outbox_path()).deliver_due(settings.webhook_url())
    return SkipReason(report.summary())
