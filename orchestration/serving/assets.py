"""The serving copy as a Dagster asset, downstream of every dbt mart and audit model, and the
PostgreSQL serving target, published from it."""

from __future__ import annotations

from dagster import AssetKey, MaterializeResult, MetadataValue, asset

from orchestration.data_lock import writer_step
from orchestration.dbt.assets import llm_margin_dbt_assets
from orchestration.dbt.project import llm_margin_project
from orchestration.paths import DEFAULT_DBT_TARGET
from orchestration.pools import WAREHOUSE_POOL
from orchestration.serving.descriptions import descriptions_from_manifest
from orchestration.serving.postgres_publish import publish_to_postgres
from orchestration.serving.publish import (
    SERVED_SCHEMAS,
    PublishedCopy,
    publish_serving_copy,
    serving_file,
)
from orchestration.settings import SERVING_POSTGRES_URL_ENV, Settings

SERVING_ASSET_KEY = AssetKey(["serving", "llm_margin"])
SERVING_POSTGRES_ASSET_KEY = AssetKey(["serving", "llm_margin_postgres"])

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
    "atomically after each successful build; only the tables the build changed are copied again, "
    "the metadata lists which were copied and which kept (docs/serving.md).",
)
@writer_step
def serving_copy(context, settings: Settings) -> MaterializeResult:
    paths = settings.paths()
    if llm_margin_project.target != DEFAULT_DBT_TARGET:
        # The Spark warehouse lives in its metastore; the DuckDB serving file is not rebuilt from it.
        return MaterializeResult(
            metadata={
                "published": False,
                "reason": f"dbt target {llm_margin_project.target!r}: serving copy is built from DuckDB only",
            }
        )
    copy = publish_serving_copy(paths.warehouse, paths.serving, log=context.log.info)
    return MaterializeResult(metadata=serving_copy_metadata(copy))


def serving_copy_metadata(copy: PublishedCopy) -> dict:
    """The serving asset's metadata: the file, and which tables this publish copied from the
    warehouse, kept from the previous file or partly replaced, each with its rows."""
    facts = copy.metadata()
    return {
        "published": True,
        "path": MetadataValue.path(str(copy.path)),
        **{
            key: MetadataValue.json(value) if isinstance(value, dict) else value
            for key, value in facts.items()
        },
    }


@asset(
    key=SERVING_POSTGRES_ASSET_KEY,
    # Published from the serving copy (the same build every DuckDB reader sees), so downstream
    # of it and, through it, of every served dbt model. It reads only that file, never the
    # warehouse: no pool, and a slow PostgreSQL never holds up the next build.
    deps=[SERVING_ASSET_KEY],
    group_name="serving",
    description="Every marts and audit table of the serving copy published into the PostgreSQL "
    f"database at ${SERVING_POSTGRES_URL_ENV}, for BI tools that speak only PostgreSQL: one "
    "transaction, the schemas swapped whole, SELECT granted to a reader role (docs/serving.md). "
    "Not published when the setting is unset.",
)
def serving_postgres(context, settings: Settings) -> MaterializeResult:
    url = settings.serving_postgres()
    reason = None
    if url is None:
        reason = (
            f"{SERVING_POSTGRES_URL_ENV} is not set: the marts are served in the DuckDB file only"
        )
    elif llm_margin_project.target != DEFAULT_DBT_TARGET:
        reason = (
            f"dbt target {llm_margin_project.target!r}: the PostgreSQL copy is published from the "
            "DuckDB serving copy, which is built from DuckDB only"
        )
    if reason is not None:
        return MaterializeResult(metadata={"published": False, "reason": reason})
    published = publish_to_postgres(
        serving_file(settings.paths().serving),
        url,
        reader_role=settings.serving_postgres_reader(),
        descriptions=descriptions_from_manifest(llm_margin_project.manifest_path),
        log=context.log.info,
    )
    return MaterializeResult(
        metadata={
            "published": True,
            "database": published.database,
            "reader_role": published.reader_role,
            "tables": len(published.rows),
            "rows": MetadataValue.json(published.rows),
            "total_rows": sum(published.rows.values()),
        }
    )
