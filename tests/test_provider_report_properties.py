"""The provider report pages' rules as the oracle: generated pages load or are quarantined exactly
as docs/provider-reconciliation.md ("Provider reports") says.

Each example is one page of one endpoint (OpenAI usage or costs, Anthropic usage or cost report),
as JSON or gzipped JSON, of buckets of generated results, loaded with
``provider_reports.load_provider_reports`` into a fresh lake; or a page that is no report at all.
The verdict for each result comes from the doc's words, written out below, never from the
loader's own rules:

* a bucket runs 00:00 UTC to 00:00 UTC the next day, else ``bucket_not_one_utc_day``; a bucket
  time that is not a timestamp is ``wrong_type`` (OpenAI's are Unix seconds, Anthropic's RFC 3339);
* an OpenAI result whose ``object`` is another endpoint's is ``unknown_result_object``;
* a token or request count is a whole number (a JSON number with no fraction: ``2.0`` is 2, as the
  usage events' JSON) else ``wrong_type``, and not negative else ``negative_value``;
* an amount is a number (OpenAI's a JSON number of dollars, Anthropic's a decimal string of cents)
  else ``wrong_type``, kept to 12 decimal places; a currency other than USD (any case) is
  ``unknown_value``;
* a required field missing or null is ``missing_required`` (the doc's list, per endpoint, below);
* fields the doc does not list are ignored; a page that is not complete JSON is one ``bad_json``
  record at row 0, JSON without a ``data`` list of buckets one ``not_a_report_page``, and then
  nothing of the page loads.

An accepted result must be in the lake at its 1-based ordinal with its bucket, its position
``data[<b>].results[<r>]`` and exactly its values; any other must be quarantined at its ordinal
with reasons that are all rules it breaks.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
from hypothesis import example, given
from hypothesis import strategies as st

from orchestration.ingest.provider_reports import load_provider_reports

DAY = datetime(2026, 11, 27, tzinfo=UTC)

# The doc's endpoints: folder, bucket keys, result object, and each field the doc names:
# lake column -> (path in the result, kind, required).
ENDPOINTS = {
    "openai_usage": {
        "folder": "openai/usage_completions",
        "object": "organization.usage.completions.result",
        "fields": {
            "model": (("model",), "string", False),
            "batch": (("batch",), "boolean", False),
            "project_id": (("project_id",), "string", False),
            "input_tokens": (("input_tokens",), "count", True),
            "input_cached_tokens": (("input_cached_tokens",), "count", False),
            "output_tokens": (("output_tokens",), "count", True),
            "num_model_requests": (("num_model_requests",), "count", True),
        },
    },
    "openai_costs": {
        "folder": "openai/costs",
        "object": "organization.costs.result",
        "fields": {
            "line_item": (("line_item",), "string", False),
            "project_id": (("project_id",), "string", False),
            "amount_value": (("amount", "value"), "dollars", True),
            "currency": (("amount", "currency"), "currency", True),
        },
    },
    "anthropic_usage": {
        "folder": "anthropic/usage_messages",
        "object": None,
        "fields": {
            "model": (("model",), "string", False),
            "service_tier": (("service_tier",), "string", False),
            "context_window": (("context_window",), "string", False),
            "uncached_input_tokens": (("uncached_input_tokens",), "count", True),
            "cache_creation_5m_input_tokens": (
                ("cache_creation", "ephemeral_5m_input_tokens"),
                "count",
                False,
            ),
            "cache_creation_1h_input_tokens": (
                ("cache_creation", "ephemeral_1h_input_tokens"),
                "count",
                False,
            ),
            "cache_read_input_tokens": (("cache_read_input_tokens",), "count", True),
            "output_tokens": (("output_tokens",), "count", True),
        },
    },
    "anthropic_costs": {
        "folder": "anthropic/cost_report",
        "object": None,
        "fields": {
            "model": (("model",), "string", False),
            "cost_type": (("cost_type",), "string", False),
            "token_type": (("token_type",), "string", False),
            "description": (("description",), "string", False),
            "amount_cents": (("amount",), "cents", True),
            "currency": (("currency",), "currency", True),
        },
    },
}
ABSENT = object()  # a field left out of the result

_string = st.sampled_from(["gpt-4o-2024-08-06", "claude-sonnet-4-20250514", "proj_1", "x'; --"])
VALUES = {
    "string": st.one_of(st.just(ABSENT), st.none(), _string),
    "boolean": st.one_of(st.just(ABSENT), st.none(), st.booleans(), st.just("yes")),
    "count": st.one_of(
        st.just(ABSENT),
        st.none(),
        st.integers(0, 10**12),
        st.integers(-1000, -1),
        st.integers(0, 10**6).map(float),  # 2.0: a whole number
        st.sampled_from([1.5, -0.5, "12", "1,000", "abc", True]),
    ),
    "dollars": st.one_of(
        st.just(ABSENT),
        st.none(),
        st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
        st.integers(-(10**6), 10**6),
        st.sampled_from(["1,44", "abc", "12 USD", True]),
    ),
    "cents": st.one_of(
        st.just(ABSENT),
        st.none(),
        st.builds(
            lambda i, f, neg: ("-" if neg else "") + (f"{i}.{f}" if f else str(i)),
            st.integers(0, 10**8),
            st.text("0123456789", max_size=14),
            st.booleans(),
        ),
        st.sampled_from(["1,44", "1e3", "abc", "12 cents"]),
    ),
    "currency": st.one_of(
        st.just(ABSENT), st.none(), st.sampled_from(["usd", "USD", "Usd", "eur", "EUR", "US$"])
    ),
}


def _object_value(endpoint: str):
    wanted = ENDPOINTS[endpoint]["object"]
    if wanted is None:
        return st.just(ABSENT)
    return st.one_of(
        st.just(wanted),
        st.just(wanted),
        st.just(ABSENT),
        st.just("organization.usage.embeddings.result"),
    )


def _result(endpoint: str):
    fields = ENDPOINTS[endpoint]["fields"]
    return st.fixed_dictionaries(
        {
            "object": _object_value(endpoint),
            "_extra": st.sampled_from([ABSENT, 1, "ignored", {"nested": [1, 2]}]),
            **{name: VALUES[kind] for name, (_, kind, _) in fields.items()},
        }
    )


# A bucket: (start, end) as instants, or a text that is no timestamp, or missing.
bucket_bounds = st.one_of(
    st.integers(0, 20).map(lambda d: (DAY + timedelta(days=d), DAY + timedelta(days=d + 1))),
    st.integers(0, 20).map(lambda d: (DAY + timedelta(days=d), DAY + timedelta(days=d + 1))),
    st.sampled_from(
        [
            (DAY + timedelta(hours=12), DAY + timedelta(days=1, hours=12)),
            (DAY, DAY + timedelta(hours=1)),
            (DAY, DAY + timedelta(days=7)),
            ("yesterday", DAY + timedelta(days=1)),
            (DAY, None),
        ]
    ),
)


def _bound_json(value, provider: str):
    if not isinstance(value, datetime):
        return value
    if provider == "openai":
        return int(value.timestamp())
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _pages(endpoint: str):
    bucket = st.tuples(bucket_bounds, st.lists(_result(endpoint), max_size=6))
    return st.tuples(st.just(endpoint), st.lists(bucket, min_size=1, max_size=5), st.booleans())


pages = st.one_of(*(_pages(e) for e in ENDPOINTS))
bad_pages = st.tuples(
    st.sampled_from(list(ENDPOINTS)),
    st.sampled_from(
        [
            ("bad_json", "cut"),
            ("bad_json", "<html>502 Bad Gateway</html>"),
            ("not_a_report_page", {"error": {"type": "invalid_request_error"}}),
            ("not_a_report_page", {"data": {"results": []}}),
            ("not_a_report_page", {"data": [{"starting_at": "x"}]}),
            ("not_a_report_page", [1, 2]),
        ]
    ),
    st.booleans(),
)


def _put(result: dict, path: tuple[str, ...], value) -> None:
    for key in path[:-1]:
        result = result.setdefault(key, {})
    result[path[-1]] = value


def _page_json(endpoint: str, buckets) -> dict:
    provider = endpoint.split("_")[0]
    start_key, end_key = (
        ("start_time", "end_time") if provider == "openai" else ("starting_at", "ending_at")
    )
    data = []
    for (start, end), results in buckets:
        out = []
        for generated in results:
            result = {}
            for name, value in generated.items():
                if value is ABSENT:
                    continue
                if name in ("object", "_extra"):
                    result[name if name == "object" else "unlisted_field"] = value
                else:
                    _put(result, ENDPOINTS[endpoint]["fields"][name][0], value)
            out.append(result)
        bucket = {start_key: _bound_json(start, provider), "results": out}
        if end is not None:
            bucket[end_key] = _bound_json(end, provider)
        data.append(bucket)
    return {"data": data, "has_more": False, "next_page": None}


def _verdict(kind: str, value):
    """(reason or None, expected lake value) of one field's value, by the doc's words."""
    if value is ABSENT or value is None:
        return "missing", None
    if kind == "string":
        return None, value
    if kind == "boolean":
        return (
            (None, "true" if value else "false")
            if isinstance(value, bool)
            else (
                "unknown_value",
                None,
            )
        )
    if kind == "count":
        if isinstance(value, bool) or isinstance(value, str):
            return "wrong_type", None
        if isinstance(value, float) and not value.is_integer():
            return "wrong_type", None
        if value < 0:
            return "negative_value", None
        return None, int(value)
    if kind == "dollars":
        if isinstance(value, bool) or isinstance(value, str):
            return "wrong_type", None
        return None, Decimal(repr(value)).quantize(Decimal("1e-12"), ROUND_HALF_UP)
    if kind == "cents":
        body = value[1:] if value.startswith("-") else value
        whole, _, fraction = body.partition(".")
        if not (whole.isdigit() and (fraction == "" or fraction.isdigit())) or body.endswith("."):
            return "wrong_type", None
        return None, Decimal(value).quantize(Decimal("1e-12"), ROUND_HALF_UP)
    if kind == "currency":
        return (None, "usd") if value.lower() == "usd" else ("unknown_value", None)
    raise AssertionError(kind)


def _expected(endpoint: str, buckets):
    """Per 1-based ordinal: (reasons broken, expected lake row or None)."""
    spec = ENDPOINTS[endpoint]
    out = []
    for b, ((start, end), results) in enumerate(buckets):
        bucket_broken: set[tuple[str, str]] = set()
        if end is None:
            bucket_broken.add(("missing_required", "bucket_end"))
        if not isinstance(start, datetime):
            bucket_broken.add(("wrong_type", "bucket_start"))
        elif end is not None and (
            start != start.replace(hour=0, minute=0) or end != start + timedelta(days=1)
        ):
            bucket_broken.add(("bucket_not_one_utc_day", "bucket_start"))
        for r, generated in enumerate(results):
            broken = set(bucket_broken)
            row = {"bucket_start": start, "bucket_end": end, "position": f"data[{b}].results[{r}]"}
            if spec["object"] is not None:
                value = generated["object"]
                if value is ABSENT:
                    broken.add(("missing_required", "object"))
                elif value != spec["object"]:
                    broken.add(("unknown_result_object", "object"))
            for name, (_, kind, required) in spec["fields"].items():
                reason, value = _verdict(kind, generated[name])
                if reason == "missing":
                    if required:
                        broken.add(("missing_required", name))
                elif reason:
                    broken.add((reason, name))
                row[name] = value
            out.append((broken, row))
    return out


def _landed(tmp: Path, endpoint: str, text: str, gzipped: bool) -> Path:
    landing = Path(tmp) / "provider_reports"
    folder = landing / ENDPOINTS[endpoint]["folder"]
    folder.mkdir(parents=True)
    data = text.encode("utf-8")
    if gzipped:
        (folder / "page.json.gz").write_bytes(gzip.compress(data))
    else:
        (folder / "page.json").write_bytes(data)
    return landing


def _lake(lake: Path, endpoint: str, columns: list[str]):
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        loaded = {
            row[-1]: dict(zip(columns, row[:-1], strict=True))
            for row in con.execute(
                f"select {', '.join(columns)}, _source_row from "
                f"read_parquet('{lake}/provider_reports/{endpoint}/*.parquet') "
                "where _source_row is not null"
            ).fetchall()
        }
        quarantined: dict[int, set[tuple[str, str | None]]] = {}
        for source_row, code, field in con.execute(
            f"select source_row, error_code, error_field from "
            f"read_parquet('{lake}/quarantine/provider_reports/*.parquet') "
            f"where entity = '{endpoint}'"
        ).fetchall():
            quarantined.setdefault(source_row, set()).add((code, field))
    return loaded, quarantined


# Defect found: a count written as a JSON number with no fraction (2.0) was wrong_type while the
# same count written 1e3 loaded: both are whole numbers, as in the usage events' JSON.
@example(
    (
        "openai_usage",
        [
            (
                (DAY, DAY + timedelta(days=1)),
                [
                    {
                        "object": "organization.usage.completions.result",
                        "_extra": ABSENT,
                        "model": "gpt-4o-2024-08-06",
                        "batch": False,
                        "project_id": None,
                        "input_tokens": 2.0,
                        "input_cached_tokens": 0.0,
                        "output_tokens": 1000.0,
                        "num_model_requests": 1,
                    }
                ],
            )
        ],
        False,
    )
)
@given(pages)
def test_report_results_load_or_are_quarantined_as_the_doc_says(page):
    endpoint, buckets, gzipped = page
    expected = _expected(endpoint, buckets)
    columns = ["bucket_start", "bucket_end", "position", *ENDPOINTS[endpoint]["fields"]]
    with tempfile.TemporaryDirectory() as tmp:
        landing = _landed(tmp, endpoint, json.dumps(_page_json(endpoint, buckets)), gzipped)
        (result,) = load_provider_reports(landing, Path(tmp) / "lake")
        loaded, quarantined = _lake(Path(tmp) / "lake", endpoint, columns)

    assert result.status == "loaded", result
    assert (result.rows_read, result.rows_loaded + result.rows_quarantined) == (
        len(expected),
        len(expected),
    )
    for number, (broken, row) in enumerate(expected, start=1):
        if not broken:
            assert number not in quarantined, (row, quarantined.get(number))
            assert loaded.get(number) == row, (loaded.get(number), row)
        else:
            assert number not in loaded, (row, broken)
            reasons = quarantined.get(number)
            assert reasons, (row, broken)
            assert reasons <= broken, (row, reasons, broken)


@given(bad_pages)
def test_a_page_that_is_no_report_is_one_quarantine_record_and_loads_nothing(page):
    endpoint, (code, body), gzipped = page
    if body == "cut":
        whole = json.dumps(_page_json(endpoint, [((DAY, DAY + timedelta(days=1)), [])]))
        text = whole[: len(whole) // 2]
    else:
        text = body if isinstance(body, str) else json.dumps(body)
    columns = ["bucket_start", "bucket_end", "position"]
    with tempfile.TemporaryDirectory() as tmp:
        landing = _landed(tmp, endpoint, text, gzipped)
        (result,) = load_provider_reports(landing, Path(tmp) / "lake")
        loaded, quarantined = _lake(Path(tmp) / "lake", endpoint, columns)
    assert loaded == {}
    assert quarantined == {0: {(code, None)}}
    assert (result.rows_loaded, result.rows_quarantined) == (0, 1)
