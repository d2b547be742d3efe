"""Dagster assets: Stripe objects (landing/stripe) → one lake table per flattened shape + quarantine."""

from dagster import AssetKey

from orchestration.ingest.stripe import STRIPE, TABLES
from orchestration.ingest.table_export_assets import table_export_assets

LANDING_STRIPE = AssetKey(["landing", "stripe"])
LAKE_STRIPE = {table: AssetKey(["lake", f"stripe_{table}"]) for table in TABLES}
LAKE_STRIPE_QUARANTINE = AssetKey(["lake", "stripe_quarantine"])

landing_stripe, ingest_stripe = table_export_assets(
    STRIPE,
    landing_description=(
        "Stripe objects as the API returns them (list pages or one object per line: customers, "
        "products, prices, subscriptions, invoices, credit notes, refunds) dropped into "
        "$LLM_MARGIN_DATA_DIR/landing/stripe/ (docs/stripe.md)."
    ),
    lake={
        table: (
            key,
            f"Every loaded Stripe snapshot flattened into lake/stripe/{table}/ "
            "(amounts in the currency's smallest unit, as Stripe sent them).",
        )
        for table, key in LAKE_STRIPE.items()
    },
    quarantine=(
        LAKE_STRIPE_QUARANTINE,
        "Stripe objects that failed validation, whole, with kind, file, position, text and reasons.",
    ),
    check=(
        "every_stripe_file_loaded",
        "No Stripe file failed to load and no Stripe object was quarantined.",
    ),
)
