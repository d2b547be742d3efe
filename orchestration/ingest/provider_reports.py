"""The providers' own usage and cost reports (landing/provider_reports), mapped onto the table-export loader.

Each landing file is one JSON page exactly as a provider's admin API returns it, in the folder of
its endpoint (docs/provider-reconciliation.md, "Provider reports")::

    landing/provider_reports/openai/usage_completions/*.json   GET /v1/organization/usage/completions
    landing/provider_reports/openai/costs/*.json               GET /v1/organization/costs
    landing/provider_reports/anthropic/usage_messages/*.json   GET /v1/organizations/usage_report/messages
    landing/provider_reports/anthropic/cost_report/*.json      GET /v1/organizations/cost_report

(``.json.gz`` too). The folder names the entity; ``report_pages.read_report_page`` flattens a page
into one record per result of every bucket, with the bucket's start and end and the result's
``position`` in the page (``data[0].results[1]``, 0-based as in the JSON), and the columns below
(lake column → JSON path in the result; fields not declared here are ignored). From there the
table-export loader validates, quarantines and publishes as for any export, once per file content.

Reasons beyond those the column specs imply (``entity_rules``, built by ``page_rules``):

* ``bad_json``: the file is not complete JSON (a truncated download); one quarantine record, the
  page's first 2,000 characters, ``source_row`` 0, nothing of the file loads;
* ``not_a_report_page``: JSON without a ``data`` list of buckets (an API error body saved as a page);
* ``bucket_not_one_utc_day``: the result's bucket does not run from 00:00 UTC to 00:00 UTC the next
  day (a query without ``bucket_width=1d``);
* ``unknown_result_object`` (OpenAI): the result's ``object`` is not the endpoint's result object
  (an embeddings page in the completions folder).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from orchestration.contract import Field, column
from orchestration.ingest.readers import RecordBatch
from orchestration.ingest.report_pages import PAGE_ERROR_MARK, read_report_page
from orchestration.ingest.rules import Rule, q
from orchestration.ingest.table_exports import TableExports, TableFileLoad, load_table_exports

GROUP = "provider_reports"

# (provider, endpoint folder) → entity
ENDPOINT_ENTITIES = {
    ("openai", "usage_completions"): "openai_usage",
    ("openai", "costs"): "openai_costs",
    ("anthropic", "usage_messages"): "anthropic_usage",
    ("anthropic", "cost_report"): "anthropic_costs",
}
# The API path each endpoint folder holds pages of (documentation and messages).
ENDPOINT_PATHS = {
    "openai_usage": "GET /v1/organization/usage/completions",
    "openai_costs": "GET /v1/organization/costs",
    "anthropic_usage": "GET /v1/organizations/usage_report/messages",
    "anthropic_costs": "GET /v1/organizations/cost_report",
}
# OpenAI names the kind of every result; a result of another kind is not this endpoint's.
RESULT_OBJECTS = {
    "openai_usage": "organization.usage.completions.result",
    "openai_costs": "organization.costs.result",
}
PAGE_FAULTS = {
    "bad_json": "the page is not complete JSON (cut short or not JSON)",
    "not_a_report_page": "the file is JSON but not a report page (no data list of buckets)",
}

_BUCKET = [
    column("bucket_start", "timestamp", True),
    column("bucket_end", "timestamp", True),
    column("position", "string", True),
]


def _tokens(name: str, required: bool = False) -> Field:
    return column(name, "integer", required, minimum=0)


COLUMNS: dict[str, list[Field]] = {
    "openai_usage": [
        *_BUCKET,
        column("object", "string", True),
        column("model", "string"),
        column("batch", "enum", enum=("true", "false")),
        column("service_tier", "string"),
        column("project_id", "string"),
        column("api_key_id", "string"),
        column("user_id", "string"),
        _tokens("input_tokens", True),
        _tokens("input_cached_tokens"),
        _tokens("input_cache_write_tokens"),
        _tokens("input_audio_tokens"),
        _tokens("output_tokens", True),
        _tokens("output_audio_tokens"),
        _tokens("num_model_requests", True),
    ],
    "openai_costs": [
        *_BUCKET,
        column("object", "string", True),
        column("line_item", "string"),
        column("project_id", "string"),
        column("api_key_id", "string"),
        column("amount_value", "amount", True),  # signed: credits and adjustments
        column("currency", "enum", True, enum=("usd",)),
        column("quantity", "amount"),
        column("quantity_unit", "string"),
    ],
    "anthropic_usage": [
        *_BUCKET,
        column("model", "string"),
        column("service_tier", "string"),
        column("context_window", "string"),
        column("workspace_id", "string"),
        column("api_key_id", "string"),
        _tokens("uncached_input_tokens", True),
        _tokens("cache_creation_5m_input_tokens"),
        _tokens("cache_creation_1h_input_tokens"),
        _tokens("cache_read_input_tokens", True),
        _tokens("output_tokens", True),
        _tokens("web_search_requests"),
    ],
    "anthropic_costs": [
        *_BUCKET,
        column("model", "string"),
        column("cost_type", "string"),
        column("token_type", "string"),
        column("service_tier", "string"),
        column("context_window", "string"),
        column("workspace_id", "string"),
        column("description", "string"),
        column("amount_cents", "amount", True),  # a decimal string of cents: "123.45" = $1.2345
        column("currency", "enum", True, enum=("usd",)),
    ],
}

# Lake column → its path in a result, where it differs from the column name.
RESULT_PATHS: dict[str, dict[str, tuple[str, ...]]] = {
    "openai_usage": {},
    "openai_costs": {"amount_value": ("amount", "value"), "currency": ("amount", "currency")},
    "anthropic_usage": {
        "cache_creation_5m_input_tokens": ("cache_creation", "ephemeral_5m_input_tokens"),
        "cache_creation_1h_input_tokens": ("cache_creation", "ephemeral_1h_input_tokens"),
        "web_search_requests": ("server_tool_use", "web_search_requests"),
    },
    "anthropic_costs": {"amount_cents": ("amount",)},
}
# The bucket's start and end keys: OpenAI's Unix seconds, Anthropic's RFC 3339 text.
BUCKET_KEYS = {"openai": ("start_time", "end_time"), "anthropic": ("starting_at", "ending_at")}


def provider_of(entity: str) -> str:
    return entity.split("_", 1)[0]


def _entity_of(path: Path) -> str | None:
    name = path.name.lower()
    if not name.endswith((".json", ".json.gz")):
        return None
    return ENDPOINT_ENTITIES.get((path.parent.parent.name, path.parent.name))


def _page_rules() -> list[Rule]:
    return [
        Rule(
            code,
            None,
            f"starts_with(raw, {q(f'{PAGE_ERROR_MARK}{code}:')})",
            q(message),
            0,
        )
        for code, message in PAGE_FAULTS.items()
    ]


def page_rules(entity: str) -> list[Rule]:
    out = _page_rules() + [
        Rule(
            "bucket_not_one_utc_day",
            "bucket_start",
            "(v_bucket_start <> date_trunc('day', v_bucket_start) "
            "or v_bucket_end <> v_bucket_start + interval 1 day)",
            q(
                "the bucket must run from 00:00 UTC to 00:00 UTC the next day (bucket_width=1d); got "
            )
            + " || s_bucket_start || ' to ' || s_bucket_end",
            45,
        )
    ]
    if entity in RESULT_OBJECTS:
        wanted = RESULT_OBJECTS[entity]
        out.append(
            Rule(
                "unknown_result_object",
                "object",
                f"s_object is not null and s_object <> {q(wanted)}",
                q(f"a page of {ENDPOINT_PATHS[entity]} holds {wanted} results; got ")
                + " || s_object",
                5,
            )
        )
    return out


def _read(path: Path) -> Iterator[RecordBatch]:
    entity = _entity_of(path)
    assert entity is not None, path  # the loader reads only files an entity matches
    return read_report_page(
        path,
        [c.name for c in COLUMNS[entity]],
        RESULT_PATHS[entity],
        BUCKET_KEYS[provider_of(entity)],
    )


PROVIDER_REPORTS = TableExports(
    GROUP,
    COLUMNS,
    _entity_of,
    "<provider>/<endpoint>/*.json: " + ", ".join(f"{p}/{e}" for p, e in ENDPOINT_ENTITIES),
    read=_read,
    entity_rules={entity: tuple(page_rules(entity)) for entity in COLUMNS},
)


def load_provider_reports(
    landing: Path, lake_root: Path, *, now: datetime | None = None
) -> list[TableFileLoad]:
    return load_table_exports(landing, lake_root, PROVIDER_REPORTS, now=now)
