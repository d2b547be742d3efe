"""The serving copy as a Dagster asset, downstream of every dbt mart and audit model."""

from __future__ import annotations

from dagster import AssetKey, MaterializeResult, MetadataValue, asset

from orchestration.dbt.assets import llm_margin_dbt_assets
from orchestration.dbt.project import llm_margin_project
from orchestration.paths import DEFAULT_DBT_TARGET
from orchestration.pools import WAREHOUSE_POOL
from orchestration.serving.publish import SERVED_SCHEMAS, publish_serving_copy
from orchestration.settings import Settings

SERVING_ASSET_KEY = AssetKey(["serving", "llm_margin"])

SERVED_DBT_ASSETS = sorted(
    (key for key in llm_margin_dbt_assets.keys if key.path[0] in SERVED_SCHEMAS),
    key=lambda key: key.to_user_string(),
)


@asset(
    key=SERVING_ASSET_KEY,
    deps=SERVED_DBT_ASSETS,
    group_name="serving",
    pool=WAREHOUSE_POOL,  # reads the warehouse: never while dbt writes it
    description="Read-only DuckDB copy of every marts and audit table for BI tools, swapped "
    "atomically after each successful build (docs/serving.md).",
)
def serving_copy(settings: Settings) -> MaterializeResult:
    paths = settings.paths()
    if llm_margin_project.target != DEFAULT_DBT_TARGET:
        # The Spark warehouse lives in its metastore; the DuckDB serving file is not rebuilt from it.
        return MaterializeResult(
            metadata={
                "published": False,
                "reason": f"dbt target {llm_margin_project.target!r}: serving copy is built from DuckDB only",
            }
        )
    copy = publish_serving_copy(paths.warehouse, paths.serving)
    return MaterializeResult(
        metadata={
            "published": True,
            "path": MetadataValue.path(str(copy.path)),
            "tables": len(copy.rows),
            "rows": MetadataValue.json(copy.rows),
            "total_rows": sum(copy.rows.values()),
        }
    )
