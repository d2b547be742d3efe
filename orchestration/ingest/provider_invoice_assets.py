"""Dagster assets: provider invoices (landing/provider_invoices) → lake/provider_invoices + quarantine."""

from dagster import AssetKey

from orchestration.ingest.provider_invoices import PROVIDER_INVOICES
from orchestration.ingest.table_export_assets import table_export_assets

LANDING_PROVIDER_INVOICES = AssetKey(["landing", "provider_invoices"])
LAKE_PROVIDER_INVOICES = AssetKey(["lake", "provider_invoices"])
LAKE_PROVIDER_INVOICES_QUARANTINE = AssetKey(["lake", "provider_invoices_quarantine"])

landing_provider_invoices, ingest_provider_invoices = table_export_assets(
    PROVIDER_INVOICES,
    landing_description=(
        "Provider invoice exports (one CSV per provider and month, a line per model) dropped into "
        "$LLM_MARGIN_DATA_DIR/landing/provider_invoices/ (docs/provider-reconciliation.md)."
    ),
    lake={
        "lines": (
            LAKE_PROVIDER_INVOICES,
            "Every loaded provider invoice line, validated, in lake/provider_invoices/lines/.",
        )
    },
    quarantine=(
        LAKE_PROVIDER_INVOICES_QUARANTINE,
        "Provider invoice lines that failed validation, with file, row, raw text and reason.",
    ),
    check=(
        "every_provider_invoice_loaded",
        "No provider invoice file failed to load and no line was quarantined.",
    ),
)
