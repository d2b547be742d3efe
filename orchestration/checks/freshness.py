"""Source freshness of the raw lake, as declared in the dbt sources, as Dagster asset checks.

``dbt build`` does not run ``dbt source freshness``, and the sample data's event times lie in the
past by design, so freshness here means *when data last arrived*: the newest ``loaded_at_field``
(the load time the ingestion assets stamp on every row) of each lake source with a ``freshness``
in its YAML, against its ``warn_after`` (docs/data-quality.md). The thresholds are read from the
dbt manifest, so the YAML stays the one place they are declared; ``dbt source freshness`` reads
the same ones.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    multi_asset_check,
)

from orchestration.dbt.project import llm_margin_project, parse_project
from orchestration.paths import data_paths

PERIODS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


@dataclass(frozen=True)
class SourceFreshness:
    source: str
    asset_key: AssetKey
    lake_path: str
    loaded_at_field: str
    warn_after: timedelta


def declared_freshness(manifest: dict) -> list[SourceFreshness]:
    found = []
    for node in manifest["sources"].values():
        warn = (node.get("freshness") or {}).get("warn_after") or {}
        meta = node.get("config", {}).get("meta") or node.get("meta") or {}
        lake, key = meta.get("lake"), meta.get("dagster", {}).get("asset_key")
        if not (warn.get("count") and node.get("loaded_at_field") and lake and key):
            continue
        if lake.get("format") != "parquet":
            continue
        found.append(
            SourceFreshness(
                f"{node['source_name']}.{node['name']}",
                AssetKey(key),
                lake["path"],
                node["loaded_at_field"],
                warn["count"] * PERIODS[warn["period"]],
            )
        )
    return sorted(found, key=lambda s: s.source)


def newest_load(lake_path: str, field: str) -> datetime | None:
    folder = data_paths().lake / lake_path
    files = [str(p) for p in folder.rglob("*.parquet")]
    if not files:
        return None
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        (value,) = con.execute(
            f"select max({field}) from read_parquet(?, union_by_name = true)", [files]
        ).fetchone()
    return value


def evaluate(spec: SourceFreshness, now: datetime | None = None) -> AssetCheckResult:
    """Warn when the source's newest load is older than its ``warn_after``. A source that never
    loaded anything is not in use (billing comes from the CSV exports *or* from Stripe; a company
    billing only in USD needs no rates file) and passes, saying so: it is what stops arriving that
    a freshness check is for."""
    now = now or datetime.now(UTC)
    newest = newest_load(spec.lake_path, spec.loaded_at_field)
    age = None if newest is None else now - newest
    return AssetCheckResult(
        asset_key=spec.asset_key,
        check_name="source_freshness",
        passed=age is None or age <= spec.warn_after,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "source": spec.source,
            "loaded_at_field": spec.loaded_at_field,
            "newest_load": "never loaded: the source is not in use"
            if newest is None
            else newest.isoformat(),
            "age_hours": None if age is None else round(age.total_seconds() / 3600, 2),
            "warn_after_hours": spec.warn_after.total_seconds() / 3600,
        },
    )


def _manifest() -> dict:
    parse_project()  # no-op when the manifest is current
    return json.loads(llm_margin_project.manifest_path.read_text())


SOURCES = declared_freshness(_manifest())


@multi_asset_check(
    name="lake_source_freshness",
    specs=[
        AssetCheckSpec(
            "source_freshness",
            asset=s.asset_key,
            description=(
                f"dbt source {s.source}: newest {s.loaded_at_field} at most "
                f"{s.warn_after} old (warn_after in its YAML)."
            ),
        )
        for s in SOURCES
    ],
)
def lake_source_freshness(context: AssetCheckExecutionContext):
    for spec in SOURCES:
        yield evaluate(spec)
