"""OpenTelemetry trace files → the span store (``lake/otel_spans``), one file content at a time.

The OpenTelemetry Collector's ``file`` exporter writes OTLP JSON: one ``ExportTraceServiceRequest``
per line (``resourceSpans`` → ``scopeSpans`` → ``spans``), plain or gzip. A span is not a call on
its own: its customer may sit on an ancestor span that arrives in a later file, and whether it
is a retry depends on the other calls of its task. So OTel ingestion has two steps:

1. here, per file (idempotent by content, published with ``Lake`` like every load): every span
   becomes one row of the span store with the attributes llm-margin reads, its resource's
   attribution and its position (file, line, index in the line). Lines that are not OTLP JSON
   (a line cut short, not an object) are quarantined with their line number and reason; a span
   without a valid trace or span id cannot be identified and is quarantined too.
2. ``otel_assemble``, per trace, across files: spans → calls and tasks → the one usage-event path.

OTLP protobuf files are not read (decision in DECISIONLOG.md "OpenTelemetry: JSON, not
protobuf"): the Collector writes JSON by default, and a protobuf reader would need the generated
OTLP classes and per-span Python.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.ingest.lake import HASH_PREFIX, Lake, file_sha256
from orchestration.ingest.readers import (
    JSONL_SUFFIXES,
    line_end_trimmed_sql,
    line_text_sql,
    read_json_lines,
)
from orchestration.ingest.rules import q, substitute
from orchestration.sql_text import literal

log = logging.getLogger(__name__)

DATASET = "otel_spans"
SOURCE_FORMAT = "otlp"

# Span attributes llm-margin reads: store column → attribute key (docs/sources.md).
SPAN_ATTRIBUTES = {
    "operation_name": "gen_ai.operation.name",
    "provider_name": "gen_ai.provider.name",
    "gen_ai_system": "gen_ai.system",
    "request_model": "gen_ai.request.model",
    "response_model": "gen_ai.response.model",
    "input_tokens": "gen_ai.usage.input_tokens",
    "prompt_tokens_legacy": "gen_ai.usage.prompt_tokens",
    "output_tokens": "gen_ai.usage.output_tokens",
    "completion_tokens_legacy": "gen_ai.usage.completion_tokens",
    "cache_read_tokens": "gen_ai.usage.cache_read.input_tokens",
    "cache_creation_tokens": "gen_ai.usage.cache_creation.input_tokens",
    "reasoning_tokens": "gen_ai.usage.reasoning.output_tokens",
    "error_type": "error.type",
    "service_tier": "openai.response.service_tier",
    "service_tier_legacy": "gen_ai.openai.response.service_tier",
    "outcome": "llm_margin.outcome",
}
# Attribution: read from the span, else its nearest ancestor that has it, else its resource.
ATTRIBUTION = {
    "customer_id": "llm_margin.customer_id",
    "workspace_id": "llm_margin.workspace_id",
    "feature": "llm_margin.feature",
    "task_id": "llm_margin.task_id",
    "route": "llm_margin.route",
    "user_id": "user.id",
    "enduser_id": "enduser.id",
}

_ATTRIBUTE = '{"key": "VARCHAR", "value": {"stringValue": "VARCHAR", "intValue": "VARCHAR", "doubleValue": "VARCHAR", "boolValue": "VARCHAR"}}'
_SPAN = (
    '{"traceId": "VARCHAR", "spanId": "VARCHAR", "parentSpanId": "VARCHAR", "name": "VARCHAR", '
    '"startTimeUnixNano": "VARCHAR", "endTimeUnixNano": "VARCHAR", '
    f'"attributes": [{_ATTRIBUTE}], "status": {{"code": "VARCHAR", "message": "VARCHAR"}}}}'
)
OTLP_SHAPE = (
    f'{{"resourceSpans": [{{"resource": {{"attributes": [{_ATTRIBUTE}]}}, '
    f'"scopeSpans": [{{"spans": [{_SPAN}]}}]}}]}}'
)


@dataclass
class SpanFileLoad:
    """What happened to one OTLP file: lines and spans read, stored and quarantined."""

    source_file: str
    file_sha256: str | None
    status: str  # loaded | already_loaded | unsupported | failed
    lines_read: int = 0
    spans_read: int = 0
    spans_stored: int = 0
    genai_spans: int = 0
    records_quarantined: int = 0  # lines and spans
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    message: str = ""

    @property
    def reconciles(self) -> bool:
        """Every line is quarantined or holds spans; every span is stored or quarantined."""
        return self.spans_read == self.spans_stored + self.quarantine_by_reason.get(
            "missing_span_id", 0
        )


def is_otlp_file(path: Path) -> bool:
    return path.name.lower().endswith(JSONL_SUFFIXES) or path.name.lower().endswith(
        (".json", ".json.gz")
    )


def _value_text(attribute: str) -> str:
    return (
        f"coalesce({attribute}.value.stringValue, {attribute}.value.intValue, "
        f"{attribute}.value.doubleValue, {attribute}.value.boolValue)"
    )


def _attribute(attributes: str, key: str) -> str:
    found = f"list_filter({attributes}, lambda a: a.key = {q(key)})[1]"
    return _value_text(f"({found})")


def lines_sql(*, strict_decode: bool = True, validate: bool = True) -> str:
    """SQL over ``records(source_row, raw_bytes)`` (lines of one file) → each line's text and
    why it is not an OTLP traces request (null when it is). ``strict_decode``: fail on bytes that
    are not UTF-8 instead of reading them as null (faster; the loader retries without it).
    ``validate=False`` parses each line once, straight into the OTLP structure, and fails on the
    first line that is not JSON (an empty line included) instead of naming it: the fast path for
    a batch of good lines, which the loader retries validated when it fails (``_lines_table``)."""
    if validate:
        checked = "select source_row, line, coalesce(json_valid(line), false) as is_json"
        transform = f"case when is_json then json_transform(line, {q(OTLP_SHAPE)}) end"
    else:
        checked = "select source_row, line, true as is_json"
        transform = f"json_transform(line, {q(OTLP_SHAPE)})"
    return f"""
with undelimited as (
    select source_row, {line_text_sql(strict=strict_decode)} as text
    from records
),
decoded as (
    select source_row, {line_end_trimmed_sql("text")} as line
    from undelimited
),
checked as (
    {checked}
    from decoded
),
transformed as (
    -- one parse to the OTLP structure (lenient: what does not fit is null)
    select *, {transform} as request
    from checked
)
select
    source_row,
    line,
    request,
    case
        when line is null then 'invalid_encoding'
        when trim(line) = '' then 'empty_line'
        when not is_json then 'bad_json'
        when request.resourceSpans is null and json_type(line) <> 'OBJECT' then 'not_an_object'
        when request.resourceSpans is null then 'not_otlp_traces'
    end as line_error
from transformed
"""


def spans_sql() -> str:
    """SQL over ``lines`` (``lines_sql``) → one row per span of the good lines: ids, times,
    status, the attributes llm-margin reads (``SPAN_ATTRIBUTES``, ``ATTRIBUTION``) and those of
    its resource, its place in the line, whether its ids are valid and whether it is a call."""
    span_cols = ",\n        ".join(
        f"{_attribute('span.attributes', key)} as {name}" for name, key in SPAN_ATTRIBUTES.items()
    )
    own = ",\n        ".join(
        f"{_attribute('span.attributes', key)} as span_{name}" for name, key in ATTRIBUTION.items()
    )
    resource = ",\n        ".join(
        f"{_attribute('resource_spans.resource.attributes', key)} as resource_{name}"
        for name, key in ATTRIBUTION.items()
    )
    resource_names = ", ".join(f"resource_{name}" for name in ATTRIBUTION)
    return f"""
with requests as (
    select source_row, request
    from lines
    where line_error is null
),
resources as (
    select
        source_row,
        unnest(request.resourceSpans) as resource_spans,
        generate_subscripts(request.resourceSpans, 1) as resource_index
    from requests
),
scopes as (
    select
        source_row,
        resource_index,
        {resource},
        unnest(resource_spans.scopeSpans) as scope_spans,
        generate_subscripts(resource_spans.scopeSpans, 1) as scope_index
    from resources
),
spans as (
    select
        source_row,
        resource_index,
        scope_index,
        {resource_names},
        unnest(scope_spans.spans) as span,
        generate_subscripts(scope_spans.spans, 1) as index_in_scope
    from scopes
),
numbered as (
    -- the span's place in its line, counting across resources and scopes
    select
        *,
        row_number() over (
            partition by source_row order by resource_index, scope_index, index_in_scope
        ) as span_index
    from spans
),
flat as (
    select
    source_row,
    span_index,
    lower(span.traceId) as trace_id,
    lower(span.spanId) as span_id,
    lower(nullif(span.parentSpanId, '')) as parent_span_id,
    span.name as span_name,
    try_cast(span.startTimeUnixNano as bigint) as start_unix_nano,
    try_cast(span.endTimeUnixNano as bigint) as end_unix_nano,
    span.status.code as status_code,
    span.status.message as status_message,
    {span_cols},
    {own},
    {resource_names}
from numbered
)
select *, {SPAN_ID_OK} as has_valid_ids, {IS_GENAI} as is_genai
from flat
"""


SPAN_ID_OK = (
    "regexp_full_match(coalesce(trace_id, ''), '[0-9a-f]{32}') and trace_id <> repeat('0', 32) "
    "and regexp_full_match(coalesce(span_id, ''), '[0-9a-f]{16}') and span_id <> repeat('0', 16)"
)
IS_GENAI = (
    "(operation_name is not null or input_tokens is not null or output_tokens is not null "
    "or prompt_tokens_legacy is not null or completion_tokens_legacy is not null)"
)


def ensure_store(lake: Lake) -> None:
    """An empty span file and quarantine file, so readers find the schema before any file."""
    empty_spans = lake.data / "spans" / "schema-v1.parquet"
    empty_quarantine = lake.quarantine / "schema-v1.parquet"
    for path in (lake.data, lake.quarantine, lake.manifests):
        path.mkdir(parents=True, exist_ok=True)
    if empty_spans.exists() and empty_quarantine.exists():
        return
    import pyarrow as pa

    with duckdb.connect() as con:
        con.register(
            "records",
            pa.table(
                {
                    "source_row": pa.array([], pa.int64()),
                    "raw_bytes": pa.array([], pa.large_binary()),
                }
            ),
        )
        con.execute(f"create temp table lines as {lines_sql()}")
        con.execute(f"create temp table spans as {spans_sql()}")
        for target, sql in (
            (empty_spans, f"select {_stored_columns()} from spans limit 0"),
            (
                empty_quarantine,
                f"select {_quarantine_line_columns()} from lines limit 0",
            ),
        ):
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".tmp")
            con.execute(
                _bind(
                    f"copy ({sql}) to {literal(tmp)} (format parquet)",
                    "",
                    "",
                    "1970-01-01T00:00:00+00:00",
                )
            )
            tmp.replace(target)


def _stored_columns() -> str:
    return (
        "* exclude (has_valid_ids), "
        "$source_file as _source_file, $file_sha256 as _file_sha256, "
        "$ingested_at::timestamptz as _ingested_at"
    )


def _quarantine_line_columns() -> str:
    return (
        "$source_file as source_file, $file_sha256 as file_sha256, source_row, "
        "null::bigint as span_index, "
        "line_error as error_code, "
        "case line_error "
        "when 'bad_json' then 'not valid JSON (a line cut short?): ' || left(line, 60) "
        "when 'not_an_object' then 'an OTLP line must be a JSON object' "
        "when 'not_otlp_traces' then 'not an OTLP ExportTraceServiceRequest (no resourceSpans list)' "
        "when 'empty_line' then 'the line is empty' "
        "else 'the line is not valid UTF-8 text' end as error_message, "
        "coalesce(line, '') as raw_record, null::varchar as trace_id, null::varchar as span_id, "
        "$ingested_at::timestamptz as quarantined_at"
    )


def _bind(sql: str, source_file: str, sha: str, ingested_at: str) -> str:
    return substitute(
        sql, {"source_file": source_file, "file_sha256": sha, "ingested_at": ingested_at}
    )


def load_span_file(
    path: Path,
    landing_dir: Path,
    lake: Lake,
    *,
    now: datetime | None = None,
    sha: str | None = None,
) -> SpanFileLoad:
    """Store the spans of one OTLP file; does nothing for a content already stored."""
    now = now or datetime.now(UTC)
    ensure_store(lake)
    name = (
        (Path(landing_dir.name) / path.relative_to(landing_dir)).as_posix()
        if path.is_relative_to(landing_dir)
        else str(path)
    )
    if not is_otlp_file(path):
        return SpanFileLoad(
            name,
            None,
            "unsupported",
            message=f"{path}: not an OTLP JSON file (.jsonl, .json, optionally .gz)",
        )
    sha = sha or file_sha256(path)
    previous = lake.read_manifest(sha)
    if previous is not None:
        known = SpanFileLoad(
            **{k: previous[k] for k in SpanFileLoad.__dataclass_fields__ if k in previous}
        )
        known.status, known.source_file = "already_loaded", name
        known.message = f"same content as {previous['source_file']!r}; nothing to do"
        return known

    lake.start(sha)
    spans_dir = lake.work_data(sha)
    quarantine_dir = lake.work_quarantine(sha)
    (spans_dir / "spans").mkdir(parents=True)
    quarantine_dir.mkdir(parents=True)
    result = SpanFileLoad(name, sha, "loaded")
    reasons: Counter[str] = Counter()
    prefix = sha[:HASH_PREFIX]

    def bind(sql: str) -> str:
        return _bind(sql, name, sha, now.isoformat())

    try:
        with duckdb.connect() as con:
            for chunk, batch in enumerate(read_json_lines(path)):
                _store_batch(
                    con,
                    batch.table,
                    chunk,
                    spans_dir,
                    quarantine_dir,
                    prefix,
                    result,
                    reasons,
                    bind,
                )
    except Exception as exc:  # the file stays in landing and is retried on the next run
        lake.abandon(sha)
        log.exception("could not load %s", name)
        return SpanFileLoad(name, sha, "failed", message=f"{type(exc).__name__}: {exc}")
    result.quarantine_by_reason = dict(sorted(reasons.items()))
    lake.publish(
        sha,
        {**asdict(result), "loaded_at": now.isoformat(), "size_bytes": path.stat().st_size},
    )
    return result


_BAD_SPANS = (
    "select $source_file as source_file, $file_sha256 as file_sha256, source_row, span_index, "
    "'missing_span_id' as error_code, "
    "'a span needs a 32-hex-digit traceId and a 16-hex-digit spanId, got ' || "
    "coalesce(trace_id, 'none') || ' / ' || coalesce(span_id, 'none') as error_message, "
    "coalesce(span_name, '') as raw_record, trace_id, span_id, "
    "$ingested_at::timestamptz as quarantined_at "
    "from spans where not has_valid_ids"
)


def _store_batch(
    con, table, chunk, spans_dir, quarantine_dir, prefix, result, reasons, bind
) -> None:
    """Flatten one batch of lines: spans to the work dir, bad lines and spans to quarantine.
    Each step reads the tables the one before made: every line is parsed as few times as
    possible (BENCHMARKS.md, "Source ingestion")."""
    con.register("records", table)
    try:
        _lines_table(con)
    finally:
        con.unregister("records")
    con.execute(f"create or replace temp table spans as {spans_sql()}")
    lines, read, good, genai = con.execute(
        "select (select count(*) from lines), count(*), count(*) filter (where has_valid_ids), "
        "count(*) filter (where has_valid_ids and is_genai) from spans"
    ).fetchone()
    result.lines_read += lines
    result.spans_read += read
    result.spans_stored += good
    result.genai_spans += genai
    if good:
        target = (spans_dir / "spans" / f"{prefix}-{chunk}.parquet").as_posix()
        con.execute(
            bind(
                f"copy (select {_stored_columns()} from spans where has_valid_ids "
                f"order by trace_id, span_id) to {literal(target)} (format parquet)"
            )
        )
    bad_lines = f"select {_quarantine_line_columns()} from lines where line_error is not null"
    con.execute(bind(f"create or replace temp table bad as {_BAD_SPANS} union all {bad_lines}"))
    by_reason = con.execute("select error_code, count(*) from bad group by 1").fetchall()
    if by_reason:
        target = (quarantine_dir / f"{prefix}-{chunk}.parquet").as_posix()
        con.execute(
            f"copy (select * from bad order by source_row, span_index) to {literal(target)} (format parquet)"
        )
        for code, count in by_reason:
            reasons[code] += count
            result.records_quarantined += count


def _lines_table(con) -> None:
    """Temp table ``lines`` from the registered ``records``, parsing each line as few times as
    the batch allows: once when every line is UTF-8 JSON (the usual batch); validated line by
    line first when one is not JSON, so it is named (``bad_json``, ``empty_line``); reading
    bytes that are not UTF-8 as null (``invalid_encoding``) when there are some. Each path gives
    the same table for a batch it can read (tests/test_otel_source.py)."""
    create = "create or replace temp table lines as "
    try:
        con.execute(create + lines_sql(validate=False))
        return
    except duckdb.ConversionException:  # bytes that are not UTF-8
        con.execute(create + lines_sql(strict_decode=False))
        return
    except duckdb.InvalidInputException:  # a line that is not JSON: name it
        pass
    try:
        con.execute(create + lines_sql())
    except duckdb.ConversionException:
        con.execute(create + lines_sql(strict_decode=False))


def summary(loads: list[SpanFileLoad]) -> dict:
    counts = Counter(load.status for load in loads)
    stored = [load for load in loads if load.status == "loaded"]
    reasons: Counter[str] = Counter()
    for load in stored:
        reasons.update(load.quarantine_by_reason)
    return {
        "files_seen": len(loads),
        "files_loaded": counts["loaded"],
        "files_already_loaded": counts["already_loaded"],
        "files_failed": counts["failed"] + counts["unsupported"],
        "lines_read": sum(load.lines_read for load in stored),
        "spans_read": sum(load.spans_read for load in stored),
        "spans_stored": sum(load.spans_stored for load in stored),
        "genai_spans": sum(load.genai_spans for load in stored),
        "quarantined": sum(load.records_quarantined for load in stored),
        "quarantine_by_reason": json.loads(json.dumps(dict(sorted(reasons.items())))),
    }
