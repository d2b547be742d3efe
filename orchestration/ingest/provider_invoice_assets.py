"""Dagster asset: provider invoices (landing/provider_invoices) → lake/provider_invoices + quarantine."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from orchestration.ingest.assets import LAKE_POOL
from orchestration.ingest.lake import LOADED_SHAS
from orchestration.ingest.provider_invoices import load_provider_invoices
from orchestration.paths import data_paths

LANDING_PROVIDER_INVOICES = AssetKey(["landing", "provider_invoices"])
LAKE_PROVIDER_INVOICES = AssetKey(["lake", "provider_invoices"])
LAKE_PROVIDER_INVOICES_QUARANTINE = AssetKey(["lake", "provider_invoices_quarantine"])

landing_provider_invoices = AssetSpec(
    LANDING_PROVIDER_INVOICES,
    description=(
        "Provider invoice exports (one CSV per provider and month, a line per model) dropped into "
        "$LLM_MARGIN_DATA_DIR/landing/provider_invoices/ (docs/provider-reconciliation.md)."
    ),
    group_name="landing",
    kinds={"file"},
)


@multi_asset(
    name="ingest_provider_invoices",
    specs=[
        AssetSpec(
            LAKE_PROVIDER_INVOICES,
            deps=[LANDING_PROVIDER_INVOICES],
            group_name="lake",
            kinds={"parquet"},
            description="Every loaded provider invoice line, validated, in lake/provider_invoices/lines/.",
        ),
        AssetSpec(
            LAKE_PROVIDER_INVOICES_QUARANTINE,
            deps=[LANDING_PROVIDER_INVOICES],
            group_name="lake",
            kinds={"parquet"},
            description="Provider invoice lines that failed validation, with file, row, raw text and reason.",
        ),
    ],
    check_specs=[
        AssetCheckSpec(
            "every_provider_invoice_loaded",
            asset=LAKE_PROVIDER_INVOICES_QUARANTINE,
            description="No provider invoice file failed to load and no line was quarantined.",
        )
    ],
    pool=LAKE_POOL,
)
def ingest_provider_invoices(context: AssetExecutionContext):
    paths = data_paths().ensure()
    results = load_provider_invoices(paths.landing_for("provider_invoices"), paths.lake)
    for r in results:
        context.log.info(
            f"{r.source_file}: {r.status}; read {r.rows_read}, loaded {r.rows_loaded}, "
            f"quarantined {r.rows_quarantined}" + (f" ({r.message})" if r.message else "")
        )
    loaded = [r for r in results if r.status == "loaded"]
    yield MaterializeResult(
        asset_key=LAKE_PROVIDER_INVOICES,
        metadata={
            "files_loaded": len(loaded),
            "rows_loaded": sum(r.rows_loaded for r in loaded),
            LOADED_SHAS: MetadataValue.json([r.file_sha256 for r in loaded]),
        },
    )
    yield MaterializeResult(
        asset_key=LAKE_PROVIDER_INVOICES_QUARANTINE,
        metadata={"rows_quarantined": sum(r.rows_quarantined for r in results)},
    )
    problems = [
        f"{r.source_file}: {r.status} {r.message}"
        for r in results
        if r.status in ("failed", "unsupported")
    ] + [
        f"{r.source_file}: {r.rows_quarantined} rows quarantined {r.quarantine_by_reason}"
        for r in results
        if r.rows_quarantined
    ]
    yield AssetCheckResult(
        check_name="every_provider_invoice_loaded",
        passed=not problems,
        severity=AssetCheckSeverity.WARN,
        metadata={"problems": MetadataValue.json(problems)},
    )
