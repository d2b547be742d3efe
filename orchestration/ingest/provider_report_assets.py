"""Dagster assets: the providers' usage and cost report pages (landing/provider_reports) → lake + quarantine."""

from dagster import AssetKey

from orchestration.ingest.provider_reports import ENDPOINT_PATHS, PROVIDER_REPORTS
from orchestration.ingest.table_export_assets import table_export_assets

LANDING_PROVIDER_REPORTS = AssetKey(["landing", "provider_reports"])
LAKE_PROVIDER_REPORTS = {
    entity: AssetKey(["lake", f"provider_report_{entity}"]) for entity in ENDPOINT_PATHS
}
LAKE_PROVIDER_REPORTS_QUARANTINE = AssetKey(["lake", "provider_reports_quarantine"])

landing_provider_reports, ingest_provider_reports = table_export_assets(
    PROVIDER_REPORTS,
    landing_description=(
        "OpenAI's and Anthropic's admin API report pages (usage and cost, daily buckets), one JSON "
        "page per file as returned, in $LLM_MARGIN_DATA_DIR/landing/provider_reports/<provider>/"
        "<endpoint>/ (docs/provider-reconciliation.md, Provider reports)."
    ),
    lake={
        entity: (
            key,
            f"Every loaded result of {ENDPOINT_PATHS[entity]} (one row per daily bucket and "
            f"group), validated, in lake/provider_reports/{entity}/.",
        )
        for entity, key in LAKE_PROVIDER_REPORTS.items()
    },
    quarantine=(
        LAKE_PROVIDER_REPORTS_QUARANTINE,
        "Report results (or whole pages) that failed validation, with file, position in the page "
        "and reason.",
    ),
    check=(
        "every_provider_report_loaded",
        "No provider report page failed to load and no result was quarantined.",
    ),
)
