"""Dagster assets: ECB reference rates (landing/fx) → lake/fx + quarantine."""

from dagster import AssetKey

from orchestration.ingest.fx import ENTITY, FX
from orchestration.ingest.table_export_assets import table_export_assets

LANDING_FX = AssetKey(["landing", "fx"])
LAKE_FX_RATES = AssetKey(["lake", "fx_ecb_rates"])
LAKE_FX_QUARANTINE = AssetKey(["lake", "fx_quarantine"])

landing_fx, ingest_fx = table_export_assets(
    FX,
    landing_description=(
        "The ECB's euro reference rates (eurofxref-hist.csv, unzipped) dropped into "
        "$LLM_MARGIN_DATA_DIR/landing/fx/."
    ),
    lake={
        ENTITY: (
            LAKE_FX_RATES,
            "Every loaded ECB rate, one row per date and currency (units per EUR), validated, "
            "in lake/fx/ecb_rates/.",
        )
    },
    quarantine=(
        LAKE_FX_QUARANTINE,
        "ECB rates that failed validation, with file, CSV row, the rate's record and reason.",
    ),
    check=(
        "every_fx_file_loaded",
        "No FX rate file failed to load and no rate was quarantined.",
    ),
)
