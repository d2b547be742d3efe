"""Jobs the sensors and schedules start (docs/budgets.md, "Sensors and schedules")."""

from dagster import AssetSelection, define_asset_job

from orchestration.alerts.assets import BUDGET_ALERTS
from orchestration.report.assets import FOUNDER_REPORT

# Ingest every new landing file, then build every dbt model (incremental models take only what
# is new) and publish the cap list. Budget alerts run in their own job, started by the budget
# sensor when this build materializes marts.mart_budget_status; the founder report in its own,
# weekly.
ingest_and_build_job = define_asset_job(
    "ingest_and_build",
    selection=AssetSelection.all() - AssetSelection.assets(BUDGET_ALERTS, FOUNDER_REPORT),
    description="Load new landing files and build the warehouse incrementally.",
)

budget_alerts_job = define_asset_job(
    "budget_alerts",
    selection=AssetSelection.assets(BUDGET_ALERTS),
    description="Fire new budget and abuse alerts, record them, deliver them to the webhook.",
)

weekly_report_job = define_asset_job(
    "weekly_report",
    selection=AssetSelection.assets(FOUNDER_REPORT),
    description="The weekly founder report (reports/founder_report): the latest week with data.",
)
