"""Dagster assets for ingestion: landing files (external) → raw lake (Parquet) + quarantine."""

from datetime import timedelta

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

from orchestration.data_lock import writer_step
from orchestration.ingest.lake import LOADED_SHAS
from orchestration.ingest.source_assets import LAKE_OTEL_SPANS, LANDING_LITELLM
from orchestration.ingest.usage_events import summarize
from orchestration.ingest.usage_sources import load_usage_sources
from orchestration.pools import WAREHOUSE_POOL
from orchestration.settings import Settings

LANDING_USAGE_EVENTS = AssetKey(["landing", "usage_events"])
LAKE_USAGE_EVENTS = AssetKey(["lake", "usage_events"])
LAKE_USAGE_EVENTS_QUARANTINE = AssetKey(["lake", "usage_events_quarantine"])
LAKE_USAGE_EVENT_FILE_LOADS = AssetKey(["lake", "usage_event_file_loads"])
# Lake writers share the warehouse pool: one writer at a time, lake or warehouse (pools.py).
LAKE_POOL = WAREHOUSE_POOL
QUARANTINE_WARN_SHARE = 0.05

landing_usage_events = AssetSpec(
    LANDING_USAGE_EVENTS,
    description=(
        "Usage-event files dropped by the app or the LLM gateway into "
        "$LLM_MARGIN_DATA_DIR/landing/usage_events/ (JSON Lines, optionally gzip, CSV, Parquet)."
    ),
    group_name="landing",
    kinds={"file"},
)


@multi_asset(
    name="ingest_usage_events",
    specs=[
        AssetSpec(
            LAKE_USAGE_EVENTS,
            deps=[LANDING_USAGE_EVENTS, LANDING_LITELLM, LAKE_OTEL_SPANS],
            group_name="lake",
            kinds={"parquet"},
            description=(
                "Every valid usage-event record, as received, in $LLM_MARGIN_DATA_DIR/lake/usage_events "
                "(Parquet, partitioned by event date), from every usage source: contract files, "
                "LiteLLM spend logs and OpenTelemetry calls assembled from the span store "
                "(docs/sources.md). Each unit is loaded once per content (sha256)."
            ),
        ),
        AssetSpec(
            LAKE_USAGE_EVENTS_QUARANTINE,
            deps=[LANDING_USAGE_EVENTS],
            group_name="lake",
            kinds={"parquet"},
            description="Invalid usage-event records with file, line or row, raw text and reason.",
        ),
        AssetSpec(
            LAKE_USAGE_EVENT_FILE_LOADS,
            deps=[LANDING_USAGE_EVENTS],
            group_name="lake",
            kinds={"json"},
            description="One manifest per loaded landing file content with its record counts.",
        ),
    ],
    pool=LAKE_POOL,
    check_specs=[
        AssetCheckSpec(
            "records_reconcile",
            asset=LAKE_USAGE_EVENTS,
            blocking=True,
            description="Per landing file: records read = records loaded + records quarantined.",
        ),
        AssetCheckSpec(
            "every_file_loaded",
            asset=LAKE_USAGE_EVENTS,
            description="No landing file failed to load or has an unsupported type.",
        ),
        AssetCheckSpec(
            "quarantine_share",
            asset=LAKE_USAGE_EVENTS,
            description=f"Less than {QUARANTINE_WARN_SHARE:.0%} of records quarantined in this load.",
        ),
    ],
)
@writer_step
def ingest_usage_events(context: AssetExecutionContext, settings: Settings):
    paths = settings.paths()

    def progress(index: int, total: int, outcome) -> None:
        context.log.info(
            f"[{index}/{total}] {outcome.source_file}: {outcome.status}; read {outcome.records_read}, "
            f"loaded {outcome.records_loaded}, quarantined {outcome.records_quarantined}"
            + (
                f" ({outcome.message})"
                if outcome.message and outcome.status != "already_loaded"
                else ""
            )
        )

    usage = load_usage_sources(
        paths,
        on_file=progress,
        workers=settings.workers(),
        max_future_hours=settings.future_hours(),
        trace_wait=timedelta(minutes=settings.otel_trace_wait()),
    )
    results = usage.loads
    totals = summarize(results)
    assembly = usage.assembly
    loaded = [r for r in results if r.status == "loaded"]
    unbalanced = [r.source_file for r in loaded if not r.reconciles]
    problems = [
        f"{r.source_file}: {r.status}: {r.message}"
        for r in results
        if r.status in ("failed", "unsupported")
    ]
    share = (
        totals["records_quarantined"] / totals["records_read"] if totals["records_read"] else 0.0
    )

    yield MaterializeResult(
        asset_key=LAKE_USAGE_EVENTS,
        metadata={
            **{k: v for k, v in totals.items() if k != "quarantine_by_reason"},
            "quarantine_by_reason": MetadataValue.json(totals["quarantine_by_reason"]),
            "records_loaded_by_source": MetadataValue.json(usage.by_source()),
            "otel_traces_assembled": assembly.traces_assembled,
            "otel_traces_waiting": assembly.traces_waiting,
            "otel_records_unchanged": assembly.records_unchanged,
            "files": MetadataValue.md(_files_table(results)),
            "lake_path": MetadataValue.path(str(paths.lake / "usage_events")),
            LOADED_SHAS: MetadataValue.json([r.file_sha256 for r in loaded]),
        },
    )
    yield MaterializeResult(
        asset_key=LAKE_USAGE_EVENTS_QUARANTINE,
        metadata={
            "records_quarantined": totals["records_quarantined"],
            "path": MetadataValue.path(str(paths.lake / "quarantine" / "usage_events")),
        },
    )
    yield MaterializeResult(
        asset_key=LAKE_USAGE_EVENT_FILE_LOADS,
        metadata={"files_loaded": totals["files_loaded"]},
    )
    yield AssetCheckResult(
        check_name="records_reconcile",
        passed=not unbalanced,
        metadata={"files_checked": len(loaded), "unbalanced_files": MetadataValue.json(unbalanced)},
    )
    yield AssetCheckResult(
        check_name="every_file_loaded",
        passed=not problems,
        severity=AssetCheckSeverity.WARN,
        metadata={"problems": MetadataValue.json(problems)},
    )
    yield AssetCheckResult(
        check_name="quarantine_share",
        passed=share < QUARANTINE_WARN_SHARE,
        severity=AssetCheckSeverity.WARN,
        metadata={"quarantined_share": share, **totals["quarantine_by_reason"]},
    )


def _files_table(results) -> str:
    rows = [
        "| file | status | read | loaded | quarantined | event dates |",
        "|---|---|---|---|---|---|",
    ]
    for r in results[:200]:
        dates = f"{r.first_event_date} … {r.last_event_date}" if r.first_event_date else ""
        rows.append(
            f"| {r.source_file} | {r.status} | {r.records_read} | {r.records_loaded} | "
            f"{r.records_quarantined} | {dates} |"
        )
    if len(results) > 200:
        rows.append(f"| … {len(results) - 200} more | | | | | |")
    return "\n".join(rows)
