"""Dagster assets: billing exports (landing/billing) → lake/billing + quarantine."""

from dagster import AssetKey

from orchestration.ingest.billing import BILLING, ENTITIES
from orchestration.ingest.table_export_assets import table_export_assets

LANDING_BILLING = AssetKey(["landing", "billing"])
LAKE_BILLING = {entity: AssetKey(["lake", f"billing_{entity}"]) for entity in ENTITIES}
LAKE_BILLING_QUARANTINE = AssetKey(["lake", "billing_quarantine"])

landing_billing, ingest_billing = table_export_assets(
    BILLING,
    landing_description=(
        "Billing exports dropped into $LLM_MARGIN_DATA_DIR/landing/billing/ (docs/billing-exports.md)."
    ),
    lake={
        entity: (key, f"Every loaded {entity} export, validated, in lake/billing/{entity}/.")
        for entity, key in LAKE_BILLING.items()
    },
    quarantine=(
        LAKE_BILLING_QUARANTINE,
        "Billing rows that failed validation, with file, row, raw text and reason.",
    ),
    check=(
        "every_billing_file_loaded",
        "No billing file failed to load and no row was quarantined.",
    ),
)
