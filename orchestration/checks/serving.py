"""A check on the serving copy: it holds what the warehouse holds, table for table, row for row."""

from __future__ import annotations

from pathlib import Path

import duckdb
from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from orchestration.data_lock import writer_step
from orchestration.dbt.project import llm_margin_project
from orchestration.paths import DEFAULT_DBT_TARGET
from orchestration.pools import WAREHOUSE_POOL
from orchestration.serving.assets import SERVING_ASSET_KEY
from orchestration.serving.fingerprints import quote
from orchestration.serving.publish import SERVED_SCHEMAS, served_relations, serving_file
from orchestration.settings import Settings


def relation_rows(database: Path, schemas: tuple[str, ...] = SERVED_SCHEMAS) -> dict[str, int]:
    """``"<schema>.<relation>"`` → rows, for every table and view of ``schemas`` in ``database``."""
    with duckdb.connect(str(database), read_only=True) as con:
        catalog = con.execute("select current_database()").fetchone()[0]
        names = served_relations(con, catalog, schemas)
        return {
            f"{schema}.{name}": con.execute(
                f"select count(*) from {quote(schema)}.{quote(name)}"
            ).fetchone()[0]
            for schema, name in names
        }


def differences(warehouse: dict[str, int], serving: dict[str, int]) -> list[str]:
    """What a reader of the serving copy would miss or see wrongly, one line per relation."""
    lines = [
        f"{name}: missing from the serving copy" for name in sorted(set(warehouse) - set(serving))
    ]
    lines += [f"{name}: not in the warehouse" for name in sorted(set(serving) - set(warehouse))]
    lines += [
        f"{name}: {serving[name]} rows served, {warehouse[name]} in the warehouse"
        for name in sorted(set(warehouse) & set(serving))
        if warehouse[name] != serving[name]
    ]
    return lines


@asset_check(
    asset=SERVING_ASSET_KEY,
    pool=WAREHOUSE_POOL,  # opens the warehouse file: never while a step writes it
    description=(
        "The serving copy holds every relation of the warehouse's marts and audit schemas, and "
        "nothing else, each with the warehouse's row count: a BI tool or the weekly report reading "
        "it sees the last build whole. Warns (a newer write to the warehouse, such as new budget "
        "alerts, is served after the next build)."
    ),
)
@writer_step
def serving_copy_matches_warehouse(settings: Settings) -> AssetCheckResult:
    if llm_margin_project.target != DEFAULT_DBT_TARGET:
        return AssetCheckResult(
            passed=True,
            metadata={"compared": False, "reason": "the serving copy is built from DuckDB only"},
        )
    paths = settings.paths()
    served = serving_file(paths.serving)
    if not served.exists():
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.WARN,
            metadata={"compared": False, "reason": f"{served.name} has not been published"},
        )
    warehouse = relation_rows(paths.warehouse)
    serving = relation_rows(served)
    lines = differences(warehouse, serving)
    return AssetCheckResult(
        passed=not lines,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "compared": True,
            "relations": len(warehouse),
            "rows": sum(serving.values()),
            "differences": MetadataValue.json(lines),
        },
    )
