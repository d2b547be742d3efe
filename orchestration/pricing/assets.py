"""Dagster assets for prices: catalog export → landing, pricing exports → lake, model resolution."""

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
)

from orchestration.data_lock import writer_step
from orchestration.ingest.assets import LAKE_POOL, LAKE_USAGE_EVENTS
from orchestration.ingest.lake import LOADED_SHAS
from orchestration.ingest.pricing import load_pricing
from orchestration.pricing.catalog import catalog_version, export_catalog
from orchestration.pricing.resolution import write_resolution
from orchestration.scenarios.lake import LAKE_SCENARIO_RULES
from orchestration.settings import Settings

LANDING_PRICING_CATALOG = AssetKey(["landing", "pricing_catalog"])
LAKE_PRICE_RULES = AssetKey(["lake", "price_rules"])
LAKE_MODEL_RESOLUTIONS = AssetKey(["lake", "model_resolutions"])


@asset(
    key=LANDING_PRICING_CATALOG,
    group_name="landing",
    kinds={"file"},
    description=(
        "The genai-prices catalog installed with the project, exported once per package version as "
        "flat price rules into $LLM_MARGIN_DATA_DIR/landing/pricing/genai-prices-<version>.rules.jsonl.gz."
    ),
)
def pricing_catalog_export(context: AssetExecutionContext, settings: Settings) -> MaterializeResult:
    path, rules, written = export_catalog(settings.paths().landing_for("pricing"))
    context.log.info(f"{'wrote' if written else 'kept'} {path.name} ({rules} price rules)")
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(path)),
            "price_rules": rules,
            "catalog_version": catalog_version(),
            "new_export": written,
        }
    )


@asset(
    key=LAKE_PRICE_RULES,
    deps=[LANDING_PRICING_CATALOG],
    group_name="lake",
    kinds={"parquet"},
    pool=LAKE_POOL,
    description="Every pricing export ever loaded, as price rules in $LLM_MARGIN_DATA_DIR/lake/prices/rules/.",
    check_specs=[
        AssetCheckSpec(
            "every_pricing_file_loaded",
            asset=LAKE_PRICE_RULES,
            blocking=True,
            description="No pricing file failed validation (a wrong price would poison every cost).",
        )
    ],
)
@writer_step
def lake_price_rules(context: AssetExecutionContext, settings: Settings):
    paths = settings.paths()
    results = load_pricing(paths.landing_for("pricing"), paths.lake)
    for r in results:
        context.log.info(
            f"{r.source_file}: {r.status}, {r.rules_loaded} rules"
            + (f"; {r.problems}" if r.problems else "")
        )
    problems = [p for r in results for p in r.problems]
    yield MaterializeResult(
        metadata={
            "files_loaded": sum(r.status == "loaded" for r in results),
            "files_already_loaded": sum(r.status == "already_loaded" for r in results),
            "rules_loaded": sum(r.rules_loaded for r in results),
            LOADED_SHAS: MetadataValue.json(
                [r.file_sha256 for r in results if r.status == "loaded"]
            ),
        }
    )
    yield AssetCheckResult(
        check_name="every_pricing_file_loaded",
        passed=not problems,
        metadata={"problems": MetadataValue.json(problems)},
    )


@asset(
    key=LAKE_MODEL_RESOLUTIONS,
    deps=[LAKE_USAGE_EVENTS, LAKE_PRICE_RULES, LAKE_SCENARIO_RULES],
    group_name="lake",
    kinds={"parquet"},
    pool=LAKE_POOL,
    description=(
        "The distinct (provider, model) strings of the usage events, and the candidates of the "
        "what-if scenarios (0 calls seen), resolved to catalog models with the catalog's own "
        "matching rules; unresolved pairs listed with their call counts."
    ),
)
@writer_step
def lake_model_resolutions(context: AssetExecutionContext, settings: Settings) -> MaterializeResult:
    path, pairs, unresolved = write_resolution(settings.paths().lake)
    if unresolved:
        context.log.warning(
            f"{unresolved} of {pairs} (provider, model) pairs have no price in the catalog"
        )
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(path)),
            "pairs": pairs,
            "unresolved_pairs": unresolved,
        }
    )
