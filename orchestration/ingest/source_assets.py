"""Dagster assets of the usage sources other than contract files: the OTel span store and the
LiteLLM pull. Both feed ``lake/usage_events`` (orchestration/ingest/assets.py), the one lake of
usage events, through the one ingestion path."""

from datetime import UTC, datetime, timedelta

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    asset,
)

from orchestration.data_lock import writer_step
from orchestration.ingest.lake import Lake
from orchestration.ingest.sources import otel
from orchestration.ingest.sources.litellm_pull import pull_spend_logs
from orchestration.ingest.usage_events import landing_files
from orchestration.pools import WAREHOUSE_POOL
from orchestration.settings import LITELLM_DATABASE_URL_ENV, Settings

LANDING_OTEL = AssetKey(["landing", "otel"])
LAKE_OTEL_SPANS = AssetKey(["lake", "otel_spans"])
LANDING_LITELLM = AssetKey(["landing", "litellm_spend_logs"])

landing_otel = AssetSpec(
    LANDING_OTEL,
    description=(
        "OpenTelemetry trace files as the Collector's file exporter writes them (OTLP JSON, one "
        "ExportTraceServiceRequest per line, optionally gzip) in $LLM_MARGIN_DATA_DIR/landing/otel/ "
        "(docs/sources.md)."
    ),
    group_name="landing",
    kinds={"file"},
)


@asset(
    key=LAKE_OTEL_SPANS,
    deps=[LANDING_OTEL],
    group_name="lake",
    kinds={"parquet"},
    pool=WAREHOUSE_POOL,
    description=(
        "Every span of every OTLP file, once per file content, with the attributes llm-margin "
        "reads and its position (file, line, index in the line), in lake/otel_spans/. "
        "lake/usage_events assembles its GenAI spans into calls and tasks, a trace at a time."
    ),
    check_specs=[
        AssetCheckSpec(
            "spans_reconcile",
            asset=LAKE_OTEL_SPANS,
            blocking=True,
            description="Per file: spans read = spans stored + spans quarantined (no trace or span id).",
        ),
        AssetCheckSpec(
            "every_file_loaded",
            asset=LAKE_OTEL_SPANS,
            description="No OTLP file failed to load or has an unsupported name.",
        ),
    ],
)
@writer_step
def otel_spans(context: AssetExecutionContext, settings: Settings):
    paths = settings.paths()
    store = Lake(paths.lake, otel.DATASET)
    landing = paths.landing_for("otel")
    files = landing_files(landing)
    now = datetime.now(UTC)
    loads = []
    for index, path in enumerate(files, start=1):
        load = otel.load_span_file(path, landing, store, now=now)
        loads.append(load)
        context.log.info(
            f"[{index}/{len(files)}] {load.source_file}: {load.status}; spans {load.spans_read}, "
            f"GenAI {load.genai_spans}, quarantined {load.records_quarantined}"
            + (f" ({load.message})" if load.message and load.status != "already_loaded" else "")
        )
    totals = otel.summary(loads)
    unbalanced = [
        load.source_file for load in loads if load.status == "loaded" and not load.reconciles
    ]
    problems = [
        f"{load.source_file}: {load.status}: {load.message}"
        for load in loads
        if load.status in ("failed", "unsupported")
    ]
    yield MaterializeResult(
        metadata={
            **{k: v for k, v in totals.items() if k != "quarantine_by_reason"},
            "quarantine_by_reason": MetadataValue.json(totals["quarantine_by_reason"]),
            "path": MetadataValue.path(str(store.data)),
        }
    )
    yield AssetCheckResult(
        check_name="spans_reconcile",
        passed=not unbalanced,
        metadata={"unbalanced_files": MetadataValue.json(unbalanced)},
    )
    yield AssetCheckResult(
        check_name="every_file_loaded",
        passed=not problems,
        severity=AssetCheckSeverity.WARN,
        metadata={"problems": MetadataValue.json(problems)},
    )


@asset(
    key=LANDING_LITELLM,
    group_name="landing",
    kinds={"postgres", "file"},
    description=(
        "LiteLLM proxy spend logs in $LLM_MARGIN_DATA_DIR/landing/litellm/: exports dropped there "
        f"(CSV or JSON Lines with LiteLLM_SpendLogs' columns), and the new rows this asset pulls "
        f"from the proxy's PostgreSQL when ${LITELLM_DATABASE_URL_ENV} is set (incrementally, by a "
        "watermark on startTime with an overlap window; docs/sources.md)."
    ),
    check_specs=[
        AssetCheckSpec(
            "pull_reconciles",
            asset=LANDING_LITELLM,
            blocking=True,
            description="Rows read = rows landed + rows an earlier pull had already landed.",
        )
    ],
)
def litellm_spend_logs(context: AssetExecutionContext, settings: Settings):
    paths = settings.paths()
    url = settings.litellm_url()
    landing = paths.landing_for("litellm")
    if not url:
        context.log.info(
            f"${LITELLM_DATABASE_URL_ENV} is not set: no pull; exports in {landing} still load"
        )
        yield MaterializeResult(metadata={"pulled": False, "files": len(landing_files(landing))})
        yield AssetCheckResult(
            check_name="pull_reconciles", passed=True, metadata={"pulled": False}
        )
        return
    pull = pull_spend_logs(url, landing, overlap=timedelta(minutes=settings.litellm_overlap()))
    context.log.info(
        f"pulled {pull.rows_written} new rows from {pull.window_from or 'the start'} "
        f"({pull.rows_already_pulled} already landed) into {pull.file or 'no file'}"
    )
    yield MaterializeResult(
        metadata={
            "pulled": True,
            "window_from": pull.window_from or "",
            "watermark": pull.watermark or "",
            "rows_fetched": pull.rows_fetched,
            "rows_already_pulled": pull.rows_already_pulled,
            "rows_written": pull.rows_written,
            "file": pull.file or "",
        }
    )
    yield AssetCheckResult(
        check_name="pull_reconciles",
        passed=pull.reconciles,
        metadata={
            "rows_fetched": pull.rows_fetched,
            "rows_already_pulled": pull.rows_already_pulled,
            "rows_written": pull.rows_written,
        },
    )
