"""The Dagster side of a family of CSV exports (``table_exports.TableExports``): one landing spec, and
one multi-asset that loads the landing folder into one lake asset per entity plus a quarantine
asset, with a warning check that every file loaded and no row was quarantined.

Billing exports, provider invoices, FX rates and Stripe objects are declared with it
(``billing_assets``, ``provider_invoice_assets``, ``fx_assets``, ``stripe_assets``); a new export
family is one more declaration.
"""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from orchestration.data_lock import writer_step
from orchestration.ingest.assets import LAKE_POOL
from orchestration.ingest.lake import LOADED_SHAS
from orchestration.ingest.table_exports import TableExports, TableFileLoad, load_table_exports
from orchestration.settings import Settings


def table_export_assets(
    exports: TableExports,
    *,
    landing_description: str,
    lake: dict[str, tuple[AssetKey, str]],
    quarantine: tuple[AssetKey, str],
    check: tuple[str, str],
) -> tuple[AssetSpec, AssetsDefinition]:
    """(landing spec, ingest multi-asset ``ingest_<group>``) for ``exports``.

    ``lake`` maps each entity to its lake asset key and description; ``quarantine`` and ``check``
    are (key or name, description) pairs. The landing folder is ``landing/<group>/``.
    """
    missing = set(exports.entities) ^ set(lake)
    if missing:
        raise ValueError(f"lake assets and {exports.group} entities differ on {sorted(missing)}")
    landing_key = AssetKey(["landing", exports.group])
    landing = AssetSpec(
        landing_key, description=landing_description, group_name="landing", kinds={"file"}
    )
    quarantine_key, quarantine_description = quarantine
    check_name, check_description = check

    def lake_spec(key: AssetKey, description: str) -> AssetSpec:
        return AssetSpec(
            key, deps=[landing_key], group_name="lake", kinds={"parquet"}, description=description
        )

    @multi_asset(
        name=f"ingest_{exports.group}",
        specs=[
            *(lake_spec(key, description) for key, description in lake.values()),
            lake_spec(quarantine_key, quarantine_description),
        ],
        check_specs=[
            AssetCheckSpec(check_name, asset=quarantine_key, description=check_description)
        ],
        pool=LAKE_POOL,
    )
    @writer_step
    def ingest(context: AssetExecutionContext, settings: Settings):
        paths = settings.paths()
        results = load_table_exports(paths.landing_for(exports.group), paths.lake, exports)
        for r in results:
            context.log.info(
                f"{r.source_file}: {r.status}; read {r.rows_read}, loaded {r.rows_loaded}, "
                f"quarantined {r.rows_quarantined}" + (f" ({r.message})" if r.message else "")
            )
        for entity, (key, _) in lake.items():
            mine = [r for r in results if r.status == "loaded" and _fills(r, entity)]
            yield MaterializeResult(
                asset_key=key,
                metadata={
                    "files_loaded": len(mine),
                    "rows_loaded": sum(r.rows_by_table.get(entity, r.rows_loaded) for r in mine),
                    LOADED_SHAS: MetadataValue.json([r.file_sha256 for r in mine]),
                },
            )
        yield MaterializeResult(
            asset_key=quarantine_key,
            metadata={
                "rows_quarantined": sum(r.rows_quarantined for r in results),
                # every file loaded, also one that filled no table (an empty page, or every
                # object quarantined): the run's summary counts files from these
                LOADED_SHAS: MetadataValue.json(
                    [r.file_sha256 for r in results if r.status == "loaded"]
                ),
            },
        )
        problems = _problems(results)
        yield AssetCheckResult(
            check_name=check_name,
            passed=not problems,
            severity=AssetCheckSeverity.WARN,
            metadata={"problems": MetadataValue.json(problems)},
        )

    return landing, ingest


def _fills(load: TableFileLoad, entity: str) -> bool:
    """Whether a load wrote rows of ``entity``: its own entity, or a table of a mapped source."""
    return load.entity == entity or load.rows_by_table.get(entity, 0) > 0


def _problems(results: list[TableFileLoad]) -> list[str]:
    """One line per file that did not load, and per file with quarantined rows."""
    failed = [
        f"{r.source_file}: {r.status} {r.message}"
        for r in results
        if r.status in ("failed", "unsupported")
    ]
    quarantined = [
        f"{r.source_file}: {r.rows_quarantined} rows quarantined {r.quarantine_by_reason}"
        for r in results
        if r.rows_quarantined
    ]
    return failed + quarantined
