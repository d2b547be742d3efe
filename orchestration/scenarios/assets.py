"""The scenario files as a lake asset: every ``scenarios/*.yaml`` checked and loaded into
``lake/scenarios/scenario_rules.parquet``, upstream of the dbt source
``scenarios.scenario_rules`` (its ``meta.dagster.asset_key``), so lineage runs from the scenario
files to the what-if marts."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
)

from orchestration.data_lock import writer_step
from orchestration.ingest.assets import LAKE_POOL
from orchestration.pricing.assets import LAKE_PRICE_RULES
from orchestration.scenarios.lake import LAKE_SCENARIO_RULES, write_scenario_rules
from orchestration.scenarios.load import check_files, scenario_files
from orchestration.settings import Settings

CHECK_NAME = "every_scenario_file_valid"


@asset(
    key=LAKE_SCENARIO_RULES,
    deps=[LAKE_PRICE_RULES],  # a candidate may be priced by a loaded pricing file
    group_name="lake",
    kinds={"parquet"},
    pool=LAKE_POOL,
    description=(
        "The what-if scenario files (scenarios/*.yaml, or $LLM_MARGIN_SCENARIOS_DIR) checked and "
        "loaded as one row per rule into $LLM_MARGIN_DATA_DIR/lake/scenarios/"
        "scenario_rules.parquet, rewritten whole each time (zero rows when there is no "
        "scenario). A file with a mistake is left out and named by the check."
    ),
    check_specs=[
        AssetCheckSpec(
            CHECK_NAME,
            asset=LAKE_SCENARIO_RULES,
            blocking=False,  # a bad scenario must not stop the real margins from building
            description="Every scenario file passed validation (each mistake with its file, "
            "line and reason; a file with one is not loaded).",
        )
    ],
)
@writer_step
def scenario_rules_asset(context: AssetExecutionContext, settings: Settings):
    paths = settings.paths()
    folder = settings.scenarios()
    files = scenario_files(folder)
    checked = check_files(files, lake=paths.lake, warehouse=paths.warehouse)
    rows = write_scenario_rules(paths.scenario_rules, checked.scenarios)
    for problem in checked.problems:
        context.log.warning(str(problem))
    if checked.traffic_skipped:
        context.log.info(checked.traffic_skipped)
    yield MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(paths.scenario_rules)),
            "folder": MetadataValue.path(str(folder)),
            "files": len(files),
            "scenarios_loaded": MetadataValue.json([s.name for s in checked.scenarios]),
            "rules": rows,
            "features_and_routes_checked": checked.traffic_skipped is None,
        }
    )
    yield AssetCheckResult(
        check_name=CHECK_NAME,
        passed=not checked.problems,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "problems": MetadataValue.json([str(p) for p in checked.problems]),
            "not_checked": checked.traffic_skipped or "",
        },
    )
