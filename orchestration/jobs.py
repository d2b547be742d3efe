"""Jobs the sensors and schedules start (docs/budgets.md, "Sensors and schedules")."""

from dagster import AssetSelection, Failure, OpExecutionContext, define_asset_job, job, op

from orchestration.alerts.assets import BUDGET_ALERTS
from orchestration.pools import WAREHOUSE_POOL

# Ingest every new landing file, then build every dbt model (incremental models take only what
# is new) and publish the cap list. Budget alerts run in their own job, started by the budget
# sensor when this build materializes marts.mart_budget_status.
ingest_and_build_job = define_asset_job(
    "ingest_and_build",
    selection=AssetSelection.all() - AssetSelection.assets(BUDGET_ALERTS),
    description="Load new landing files and build the warehouse incrementally.",
)

budget_alerts_job = define_asset_job(
    "budget_alerts",
    selection=AssetSelection.assets(BUDGET_ALERTS),
    description="Fire new budget and abuse alerts, record them, deliver them to the webhook.",
)


@op(pool=WAREHOUSE_POOL, description="Runs `llm-margin report` (reads the serving copy).")
def weekly_report_op(context: OpExecutionContext) -> None:
    from orchestration.cli import main

    code = main(["report"])
    if code != 0:
        raise Failure(f"llm-margin report exited with {code} (see the log above)")
    context.log.info("weekly report done")


@job(description="The weekly founder report (`llm-margin report`).")
def weekly_report_job():
    weekly_report_op()
