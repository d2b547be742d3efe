"""The weekly founder report as a Dagster asset, downstream of the serving copy it reads.

Materializing it writes ``reports/founder-report-YYYY-Www.html`` for the latest week with data
(the same file ``llm-margin report`` writes) and records the week and its headline figures as
metadata, so the UI shows which week each run reported and what it said.
"""

from __future__ import annotations

from dagster import AssetKey, MaterializeResult, MetadataValue, asset

from orchestration.data_lock import writer_step
from orchestration.pools import WAREHOUSE_POOL
from orchestration.report.html import write_html
from orchestration.report.queries import read_report
from orchestration.serving.assets import SERVING_ASSET_KEY
from orchestration.serving.publish import serving_file
from orchestration.settings import Settings

FOUNDER_REPORT = AssetKey(["reports", "founder_report"])


@asset(
    key=FOUNDER_REPORT,
    deps=[SERVING_ASSET_KEY],
    group_name="reports",
    kinds={"html"},
    pool=WAREHOUSE_POOL,  # every materializable asset shares the one writer pool
    description="The weekly founder report for the latest ISO week with data, as one "
    "self-contained HTML file (docs/report.md); read from the serving copy.",
)
@writer_step
def founder_report(settings: Settings) -> MaterializeResult:
    paths = settings.paths()
    report = read_report(serving_file(paths.serving))
    path = write_html(report, paths.reports)
    headline = report.headline
    return MaterializeResult(
        metadata={
            "week": str(report.week),
            "has_data": report.has_data,
            "path": MetadataValue.path(str(path)),
            "ai_cost_usd": float(headline.get("cost_usd") or 0),
            "previous_ai_cost_usd": float(headline.get("previous_cost_usd") or 0),
            "calls": int(headline.get("calls") or 0),
            "tasks": int(headline.get("tasks") or 0),
            "successful_tasks": int(headline.get("successful_tasks") or 0),
        }
    )
