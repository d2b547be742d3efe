"""Dagster asset: billing exports (landing/billing) → lake/billing + quarantine."""

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
from orchestration.ingest.billing import ENTITIES, load_billing
from orchestration.ingest.lake import LOADED_SHAS
from orchestration.paths import data_paths

LANDING_BILLING = AssetKey(["landing", "billing"])
LAKE_BILLING = {entity: AssetKey(["lake", f"billing_{entity}"]) for entity in ENTITIES}
LAKE_BILLING_QUARANTINE = AssetKey(["lake", "billing_quarantine"])

landing_billing = AssetSpec(
    LANDING_BILLING,
    description="Billing exports dropped into $LLM_MARGIN_DATA_DIR/landing/billing/ (docs/billing-exports.md).",
    group_name="landing",
    kinds={"file"},
)


@multi_asset(
    name="ingest_billing",
    specs=[
        *[
            AssetSpec(
                key,
                deps=[LANDING_BILLING],
                group_name="lake",
                kinds={"parquet"},
                description=f"Every loaded {entity} export, validated, in lake/billing/{entity}/.",
            )
            for entity, key in LAKE_BILLING.items()
        ],
        AssetSpec(
            LAKE_BILLING_QUARANTINE,
            deps=[LANDING_BILLING],
            group_name="lake",
            kinds={"parquet"},
            description="Billing rows that failed validation, with file, row, raw text and reason.",
        ),
    ],
    check_specs=[
        AssetCheckSpec(
            "every_billing_file_loaded",
            asset=LAKE_BILLING_QUARANTINE,
            description="No billing file failed to load and no row was quarantined.",
        )
    ],
    pool=LAKE_POOL,
)
def ingest_billing(context: AssetExecutionContext):
    paths = data_paths().ensure()
    results = load_billing(paths.landing_for("billing"), paths.lake)
    for r in results:
        context.log.info(
            f"{r.source_file}: {r.status}; read {r.rows_read}, loaded {r.rows_loaded}, "
            f"quarantined {r.rows_quarantined}" + (f" ({r.message})" if r.message else "")
        )
    for entity, key in LAKE_BILLING.items():
        mine = [r for r in results if r.entity == entity and r.status == "loaded"]
        yield MaterializeResult(
            asset_key=key,
            metadata={
                "files_loaded": len(mine),
                "rows_loaded": sum(r.rows_loaded for r in mine),
                LOADED_SHAS: MetadataValue.json([r.file_sha256 for r in mine]),
            },
        )
    quarantined = sum(r.rows_quarantined for r in results)
    yield MaterializeResult(
        asset_key=LAKE_BILLING_QUARANTINE, metadata={"rows_quarantined": quarantined}
    )
    problems = [
        f"{r.source_file}: {r.status} {r.message}"
        for r in results
        if r.status in ("failed", "unsupported")
    ]
    problems += [
        f"{r.source_file}: {r.rows_quarantined} rows quarantined {r.quarantine_by_reason}"
        for r in results
        if r.rows_quarantined
    ]
    yield AssetCheckResult(
        check_name="every_billing_file_loaded",
        passed=not problems,
        severity=AssetCheckSeverity.WARN,
        metadata={"problems": MetadataValue.json(problems)},
    )
