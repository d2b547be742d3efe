"""LiteLLM proxy spend logs (``LiteLLM_SpendLogs`` rows) → usage-event contract records.

One SQL statement maps a batch of rows, whatever brought them (an export as CSV or JSON Lines
under ``landing/litellm/``, or a pull from the proxy's PostgreSQL, ``litellm_pull``, which lands
its rows as JSON Lines there too). The mapped records then take the one ingestion path
(``usage_events.load_records``): validated, quarantined with the row's position and a reason,
published once per file content.

The mapping (docs/sources.md, "LiteLLM proxy"):

* ``event_id`` = ``request_id``; ``occurred_at`` = ``startTime``; ``emitted_at`` = ``endTime``
  (LiteLLM writes one row per request: there is one version); a time without an offset is UTC.
* ``provider`` = ``custom_llm_provider``; ``model`` = ``model`` without a leading
  ``<provider>/``; ``route`` = ``model_group``.
* ``customer_id`` = ``spend_logs_metadata.customer_id``, else ``end_user``; ``workspace_id`` =
  ``spend_logs_metadata.workspace_id``, else ``team_id``, else ``metadata.user_api_key_team_id``;
  ``feature`` = ``spend_logs_metadata.feature``, else the first ``feature:<name>`` request tag;
  ``task_id`` = ``spend_logs_metadata.task_id``, else ``session_id``; ``user_id`` =
  ``spend_logs_metadata.user_id``, else ``user``; ``outcome``, ``service_tier`` and, for an
  app's own retries and fallbacks, ``parent_event_id``, ``attempt`` and ``fallback_from_route``
  from ``spend_logs_metadata`` (what the caller passed with the request).
* tokens: ``prompt_tokens`` and ``completion_tokens`` from the columns (LiteLLM's prompt tokens
  include cached ones, as the contract's do); cache reads from ``usage_object``
  ``prompt_tokens_details.cached_tokens``, else ``cache_read_input_tokens``; cache writes from
  ``cache_creation_input_tokens``; reasoning from ``completion_tokens_details.reasoning_tokens``.
* ``latency_ms`` = ``endTime - startTime`` (null when negative); ``status`` from ``status`` and
  ``metadata.error_information`` (``STATUS_FROM_ERROR``).
* kept as attributes: ``gateway_cost_usd`` (LiteLLM's ``spend``, compared with llm-margin's price
  in ``mart_gateway_cost_comparison``), ``litellm_call_type``, ``litellm_api_base``.

A row whose ``metadata`` (or ``request_tags``) is text that is not JSON is quarantined
(``source_record_unreadable``): its attribution cannot be read, and guessing it would put its
cost on the wrong customer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration.ingest.readers import (
    CSV_CELLS_MARK,
    RecordBatch,
    all_utf8,
    line_end_trimmed_sql,
    line_text_sql,
    read_records,
)
from orchestration.ingest.rules import q
from orchestration.ingest.validate import MAPPING_ERROR

SOURCE_FORMAT = "litellm"

# What a failed request's error says → the contract's status, first match wins (class, code).
STATUS_FROM_ERROR = (
    ("timeout", ("408", "504")),
    ("rate_limited", ("429",)),
    ("cancelled", ("499",)),
    ("invalid_output", ()),
)
_CLASS_PATTERNS = {
    "timeout": "%timeout%",
    "rate_limited": "%ratelimit%",
    "cancelled": "%cancel%",
    "invalid_output": "%invalidoutput%",
}

# The spend-log columns llm-margin reads (a pull selects only these: never prompts or responses).
COLUMNS = (
    "request_id",
    "call_type",
    "spend",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "startTime",
    "endTime",
    "model",
    "model_group",
    "custom_llm_provider",
    "api_base",
    "user",
    "metadata",
    "request_tags",
    "team_id",
    "end_user",
    "session_id",
    "status",
)


def _value(expr: str) -> str:
    """A JSON value with JSON null read as SQL null (so ``coalesce`` falls through it)."""
    return f"nullif(({expr}), 'null'::json)"


def _text(expr: str) -> str:
    """A JSON value as trimmed text, null when null or empty."""
    return f"nullif(trim(({expr}) ->> '$'), '')"


def _json_cell(column: str, kind: str) -> tuple[str, str]:
    """(parsed value, error text) for a column holding JSON or JSON text (a CSV cell)."""
    cell = f"(row_json -> '{column}')"
    as_text = f"(row_json ->> '{column}')"
    parsed = (
        f"case when json_type({cell}) = {q(kind)} then {cell} "
        f"when json_type({cell}) = 'VARCHAR' and trim({as_text}) = '' then null "
        f"when json_type({cell}) = 'VARCHAR' and json_valid({as_text}) "
        f"and json_type({as_text}::json) = {q(kind)} then {as_text}::json end"
    )
    error = (
        f"case when json_type({cell}) in ('NULL', {q(kind)}) or {cell} is null then null "
        f"when json_type({cell}) = 'VARCHAR' and trim({as_text}) = '' then null "
        f"when json_type({cell}) = 'VARCHAR' and json_valid({as_text}) "
        f"and json_type({as_text}::json) = {q(kind)} then null "
        f"else {q(column + ' is not a JSON ' + kind.lower() + ': ')} || left({as_text}, 60) end"
    )
    return parsed, error


def _status_sql() -> str:
    err_class = (
        "lower(replace(coalesce((meta ->> '$.error_information.error_class'), ''), '_', ''))"
    )
    err_code = "coalesce((meta ->> '$.error_information.error_code'), '')"
    state = (
        "lower(coalesce(nullif(trim((row_json ->> 'status')), ''), (meta ->> 'status'), 'success'))"
    )
    whens = []
    for status, codes in STATUS_FROM_ERROR:
        tests = [f"{err_class} like {q(_CLASS_PATTERNS[status])}"]
        if codes:
            tests.append(f"{err_code} in ({', '.join(q(c) for c in codes)})")
        whens.append(f"when {' or '.join(tests)} then {q(status)}")
    return (
        f"case when {state} = 'success' then 'success' "
        + " ".join(whens)
        + f" when {state} in ('failure', 'error', 'failed') then 'error' else {state} end"
    )


class _Reads:
    """The JSON reads of the mapping, each ``(<json> -> 'path')`` (a JSON value) or
    ``(<json> ->> 'path')`` (its text), gathered per JSON column and served from one list-form
    ``json_extract`` and one ``json_extract_string`` of that column (same paths, same results,
    one parse of the column instead of one per read)."""

    _READ = re.compile(r"\((row_json|meta|slm|usage) (->>|->) '([^']*)'\)")

    def __init__(self) -> None:
        self.paths: dict[str, list[str]] = {}

    def rewrite(self, sql: str) -> str:
        def served(match: re.Match) -> str:
            column, arrow, path = match.groups()
            paths = self.paths.setdefault(column, [])
            if path not in paths:
                paths.append(path)
            kind = "texts" if arrow == "->>" else "values"
            return f"{column}_{kind}[{paths.index(path) + 1}]"

        return self._READ.sub(served, sql)

    def lists(self, column: str) -> str:
        paths = "[" + ", ".join(q(p) for p in self.paths.get(column, [])) + "]"
        if paths == "[]":
            return f"null::json[] as {column}_values, null::varchar[] as {column}_texts"
        return (
            f"json_extract({column}, {paths}) as {column}_values, "
            f"json_extract_string({column}, {paths}) as {column}_texts"
        )


def mapping_sql(*, from_bytes: bool, strict_decode: bool = False) -> str:
    """SQL over ``source_rows(source_row, raw | raw_bytes)`` → ``(source_row, raw)`` contract
    records. Text that is not a JSON object (a truncated line, a CSV row with the wrong number
    of cells) passes through unchanged: the validator quarantines it with its own reason.
    ``strict_decode`` (``raw_bytes`` only): as in ``validate.validation_sql``."""
    text = line_text_sql(strict=strict_decode) if from_bytes else "raw"
    trimmed = line_end_trimmed_sql("text") if from_bytes else "text"
    metadata, metadata_error = _json_cell("metadata", "OBJECT")
    tags, tags_error = _json_cell("request_tags", "ARRAY")
    slm = "slm"  # (meta -> '$.spend_logs_metadata'), a column of its own
    usage = "usage"  # (meta -> '$.usage_object')
    start = "try_cast((row_json ->> 'startTime') as timestamp)"
    end = "try_cast((row_json ->> 'endTime') as timestamp)"
    feature_tag = "substr(list_filter(from_json(tags, '[\"VARCHAR\"]'), lambda t: starts_with(t, 'feature:'))[1], 9)"
    record = {
        "event_id": "(row_json -> 'request_id')",
        "occurred_at": "(row_json -> 'startTime')",
        "emitted_at": "(row_json -> 'endTime')",
        "provider": "(row_json -> 'custom_llm_provider')",
        "model": (
            "to_json(case when starts_with((row_json ->> 'model'), "
            "((row_json ->> 'custom_llm_provider')) || '/') "
            "then substr((row_json ->> 'model'), length((row_json ->> 'custom_llm_provider')) + 2) "
            "else (row_json ->> 'model') end)"
        ),
        "route": "(row_json -> 'model_group')",
        "prompt_tokens": "(row_json -> 'prompt_tokens')",
        "completion_tokens": "(row_json -> 'completion_tokens')",
        "cached_prompt_tokens": (
            f"coalesce({_value(usage + ' -> ' + q('$.prompt_tokens_details.cached_tokens'))}, "
            f"{_value(usage + ' -> ' + q('$.cache_read_input_tokens'))})"
        ),
        "cache_write_tokens": _value(f"{usage} -> '$.cache_creation_input_tokens'"),
        "reasoning_tokens": _value(f"{usage} -> '$.completion_tokens_details.reasoning_tokens'"),
        "latency_ms": (
            f"case when {end} >= {start} then to_json(epoch_ms({end}) - epoch_ms({start})) end"
        ),
        "status": f"to_json({_status_sql()})",
        "outcome": _value(f"{slm} -> 'outcome'"),
        "parent_event_id": _value(f"{slm} -> 'parent_event_id'"),
        "attempt": _value(f"{slm} -> 'attempt'"),
        "fallback_from_route": _value(f"{slm} -> 'fallback_from_route'"),
        "service_tier": _value(f"{slm} -> 'service_tier'"),
        "gateway_cost_usd": "(row_json -> 'spend')",
        "litellm_call_type": "(row_json -> 'call_type')",
        "litellm_api_base": "(row_json -> 'api_base')",
    }
    text_tags = {
        "customer_id": (f"{slm} -> 'customer_id'", "(row_json -> 'end_user')"),
        "workspace_id": (
            f"{slm} -> 'workspace_id'",
            "(row_json -> 'team_id')",
            "(meta -> 'user_api_key_team_id')",
        ),
        "user_id": (f"{slm} -> 'user_id'", "(row_json -> 'user')"),
        "task_id": (f"{slm} -> 'task_id'", "(row_json -> 'session_id')"),
    }
    for name, candidates in text_tags.items():
        record[name] = "to_json(coalesce(" + ", ".join(_text(c) for c in candidates) + "))"
    record["feature"] = f"to_json(coalesce({_text(slm + ' -> ' + q('feature'))}, {feature_tag}))"
    record[MAPPING_ERROR] = f"to_json(coalesce({metadata_error}, {tags_error}))"
    pairs = ",\n            ".join(f"{q(k)}, {v}" for k, v in record.items())
    # Every ``(<json> -> 'path')`` and ``(<json> ->> 'path')`` above parses its JSON again; each
    # JSON is read instead once, with the list forms of json_extract / json_extract_string.
    reads = _Reads()
    pairs = reads.rewrite(pairs)
    metadata, tags = reads.rewrite(metadata), reads.rewrite(tags)
    nested = reads.rewrite(
        "(meta -> '$.spend_logs_metadata') as slm, (meta -> '$.usage_object') as usage"
    )
    return f"""
with source_lines as (
    select source_row, {text} as text
    from source_rows
),
source_text as (
    select source_row, {trimmed} as decoded
    from source_lines
),
source_parsed as (
    select
        source_row,
        decoded,
        case
            when not starts_with(coalesce(decoded, ''), {q(CSV_CELLS_MARK)})
                and coalesce(json_valid(decoded), false)
                and json_type(decoded::json) = 'OBJECT'
            then decoded::json
        end as row_json
    from source_text
),
source_values as (
    select *, {reads.lists("row_json")}
    from source_parsed
),
source_cells as (
    select *, {metadata} as meta, {tags} as tags
    from source_values
),
source_meta as (
    select *, {reads.lists("meta")}
    from source_cells
),
source_nested as (
    select *, {nested}
    from source_meta
),
source_nested_values as (
    select *, {reads.lists("slm")}, {reads.lists("usage")}
    from source_nested
)
select
    source_row,
    case
        when row_json is null then decoded
        else json_object(
            {pairs}
        )::varchar
    end as raw
from source_nested_values
"""


def map_batch(con: duckdb.DuckDBPyConnection, batch: RecordBatch) -> RecordBatch:
    """One batch of spend-log rows (as ``readers`` reads them) → contract records."""
    from_bytes = "raw_bytes" in batch.table.column_names
    strict = from_bytes and all_utf8(batch.table["raw_bytes"])
    con.register("source_rows", batch.table)
    try:
        try:
            table = con.sql(
                mapping_sql(from_bytes=from_bytes, strict_decode=strict)
            ).to_arrow_table()
        except duckdb.Error:
            if not strict:
                raise
            table = con.sql(mapping_sql(from_bytes=from_bytes)).to_arrow_table()
    finally:
        con.unregister("source_rows")
    return RecordBatch(
        table.cast(pa.schema([("source_row", pa.int64()), ("raw", pa.string())])),
        batch.numbers_as_text,
        mapped=True,
    )


def read_spend_logs(path: Path) -> Iterator[RecordBatch]:
    """A spend-log file (CSV or JSON Lines, optionally gzip, or Parquet) as contract records."""
    with duckdb.connect() as con:
        for batch in read_records(path):
            yield map_batch(con, batch)
