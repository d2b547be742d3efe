"""The providers' report pages (landing/provider_reports) through the table-export loader.

Expected counts and values are read from the fixture pages with Python's json module, or typed in
from tests/fixtures/provider_reports/EXPECTED.md ("Malformed pages"), never from the loader's output.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from dagster import materialize

from orchestration.ingest.provider_report_assets import (
    LAKE_PROVIDER_REPORTS,
    LAKE_PROVIDER_REPORTS_QUARANTINE,
    ingest_provider_reports,
)
from orchestration.ingest.provider_reports import load_provider_reports
from orchestration.paths import DATA_DIR_ENV, DataPaths
from orchestration.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures" / "provider_reports"
ENDPOINTS = {
    "openai_usage": "openai/usage_completions",
    "openai_costs": "openai/costs",
    "anthropic_usage": "anthropic/usage_messages",
    "anthropic_costs": "anthropic/cost_report",
}


def _landed(tmp_path: Path, *folders: str, source: Path = FIXTURES) -> Path:
    landing = tmp_path / "landing" / "provider_reports"
    for folder in folders:
        shutil.copytree(source / folder, landing / folder, dirs_exist_ok=True)
    return landing


def _results_in_pages(folder: Path) -> int:
    return sum(
        len(bucket["results"])
        for page in sorted(folder.glob("*.json"))
        for bucket in json.loads(page.read_text())["data"]
    )


def _query(sql: str) -> list[tuple]:
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        return con.execute(sql).fetchall()


def test_every_result_of_every_page_loads_with_its_bucket_and_position(tmp_path):
    landing = _landed(tmp_path, "openai", "anthropic")
    lake = tmp_path / "lake"
    results = load_provider_reports(landing, lake)
    assert {r.status for r in results} == {"loaded"} and len(results) == 8
    assert sum(r.rows_quarantined for r in results) == 0
    for entity, folder in ENDPOINTS.items():
        rows = _query(
            f"select count(*) from read_parquet('{lake}/provider_reports/{entity}/*.parquet')"
        )[0][0]
        assert rows == _results_in_pages(FIXTURES / folder), entity
    # OpenAI's Unix seconds are UTC midnights; Anthropic's RFC 3339 text the same instants
    starts = _query(
        "select distinct bucket_start, bucket_end from read_parquet("
        f"'{lake}/provider_reports/*_usage/*.parquet', union_by_name = true) order by 1"
    )
    assert starts == [
        (datetime(2026, 11, d, tzinfo=UTC), datetime(2026, 11, d + 1, tzinfo=UTC))
        for d in (27, 28, 29)
    ]
    # the second page of the OpenAI usage report: its first result, in bucket 0
    first = FIXTURES / "openai/usage_completions/2026-11-27_2026-11-30_page-2.json"
    result = json.loads(first.read_text())["data"][0]["results"][0]
    row = _query(
        "select model, batch, input_tokens, input_cached_tokens, num_model_requests, position "
        f"from read_parquet('{lake}/provider_reports/openai_usage/*.parquet') "
        "where _source_file like '%page-2.json' and _source_row = 1"
    )
    assert row == [
        (
            result["model"],
            str(result["batch"]).lower(),
            result["input_tokens"],
            result["input_cached_tokens"],
            result["num_model_requests"],
            "data[0].results[0]",
        )
    ]


def test_amounts_keep_their_digits(tmp_path):
    landing = _landed(tmp_path, "openai/costs", "anthropic/cost_report")
    lake = tmp_path / "lake"
    load_provider_reports(landing, lake)
    openai = {
        (li, Decimal(v).normalize())
        for li, v in _query(
            "select line_item, amount_value::varchar "
            f"from read_parquet('{lake}/provider_reports/openai_costs/*.parquet') "
            "where bucket_start = timestamptz '2026-11-28 00:00:00+00'"
        )
    }
    # EXPECTED.md, gap 2: the second project's cached input is $0.075 exactly
    assert ("gpt-4o-mini-2024-07-18, cached input", Decimal("0.075")) in openai
    anthropic = _query(
        "select amount_cents::varchar, currency "
        f"from read_parquet('{lake}/provider_reports/anthropic_costs/*.parquet') "
        "where model = 'claude-sonnet-4-20250514' "
        "and token_type = 'cache_creation.ephemeral_5m_input_tokens' "
        "and bucket_start = timestamptz '2026-11-29 00:00:00+00'"
    )
    # EXPECTED.md, gap 4: 41.25 cents of 5-minute cache writes; the currency lower-cased
    assert [(Decimal(a), c) for a, c in anthropic] == [(Decimal("41.25"), "usd")]


def test_a_json_float_with_more_places_than_kept_is_rounded_not_refused(tmp_path):
    landing = tmp_path / "landing"
    page = {
        "object": "page",
        "data": [
            {
                "object": "bucket",
                "start_time": 1795737600,
                "end_time": 1795824000,
                "results": [
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": 0.06000000000000001, "currency": "usd"},
                        "line_item": "gpt-4o-mini-2024-07-18, input",
                    },
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": 1.2e-05, "currency": "usd"},
                        "line_item": "gpt-4o-mini-2024-07-18, output",
                    },
                ],
            }
        ],
        "has_more": False,
        "next_page": None,
    }
    (landing / "openai" / "costs").mkdir(parents=True)
    (landing / "openai" / "costs" / "p.json").write_text(json.dumps(page))
    load_provider_reports(landing, tmp_path / "lake")
    values = _query(
        "select amount_value::varchar from read_parquet("
        f"'{tmp_path}/lake/provider_reports/openai_costs/*.parquet') order by _source_row"
    )
    assert [Decimal(v) for (v,) in values] == [Decimal("0.06"), Decimal("0.000012")]


def test_loading_a_page_twice_changes_nothing(tmp_path):
    landing = _landed(tmp_path, "openai", "anthropic")
    lake = tmp_path / "lake"
    load_provider_reports(landing, lake)
    before = _query(
        f"select count(*) from read_parquet('{lake}/provider_reports/*/*.parquet', "
        "union_by_name = true)"
    )
    again = load_provider_reports(landing, lake)
    assert {r.status for r in again} == {"already_loaded"}
    # the same page under another name is the same content
    page = landing / "openai/costs/2026-11-27_2026-11-30_page-1.json"
    shutil.copy(page, page.with_name("copy-of-page-1.json"))
    copy = {r.source_file: r.status for r in load_provider_reports(landing, lake)}
    assert copy["openai/costs/copy-of-page-1.json"] == "already_loaded"
    after = _query(
        f"select count(*) from read_parquet('{lake}/provider_reports/*/*.parquet', "
        "union_by_name = true)"
    )
    assert after == before


def test_malformed_pages_are_quarantined_with_file_position_and_reason(tmp_path):
    landing = _landed(tmp_path, "openai", "anthropic", source=FIXTURES / "malformed")
    lake = tmp_path / "lake"
    results = {r.source_file: r for r in load_provider_reports(landing, lake)}
    assert {r.status for r in results.values()} == {"loaded"}
    quarantined = _query(
        "select source_file, case when source_row = 0 then '$' "
        "else json_extract_string(raw_record, '$.position') end, "
        "error_code, error_field "
        f"from read_parquet('{lake}/quarantine/provider_reports/*.parquet') order by all"
    )
    # EXPECTED.md, "Malformed pages" (positions 0-based, as the JSON indexes them)
    assert quarantined == sorted(
        [
            ("anthropic/cost_report/truncated.json", "$", "bad_json", None),
            (
                "anthropic/usage_messages/bad_buckets.json",
                "data[0].results[0]",
                "bucket_not_one_utc_day",
                "bucket_start",
            ),
            (
                "anthropic/usage_messages/bad_buckets.json",
                "data[1].results[0]",
                "negative_value",
                "cache_read_input_tokens",
            ),
            ("anthropic/usage_messages/error_envelope.json", "$", "not_a_report_page", None),
            ("openai/costs/bad_amounts.json", "data[0].results[1]", "unknown_value", "currency"),
            ("openai/costs/bad_amounts.json", "data[0].results[2]", "wrong_type", "amount_value"),
            (
                "openai/usage_completions/negative_tokens.json",
                "data[0].results[1]",
                "negative_value",
                "input_tokens",
            ),
            (
                "openai/usage_completions/unknown_result_object.json",
                "data[0].results[0]",
                "unknown_result_object",
                "object",
            ),
        ]
    )
    message = _query(
        "select error_message, raw_record "
        f"from read_parquet('{lake}/quarantine/provider_reports/*.parquet') "
        "where error_code = 'bad_json'"
    )[0]
    assert "not complete JSON" in message[0]
    assert (
        message[1]
        == (FIXTURES / "malformed/anthropic/cost_report/truncated.json").read_text()[:2000]
    )
    # the good results of the partly bad pages load
    assert _query(
        "select model, num_model_requests "
        f"from read_parquet('{lake}/provider_reports/openai_usage/*.parquet')"
    ) == [("gpt-4o-mini-2024-07-18", 8000)]
    assert _query(
        "select line_item, amount_value::double "
        f"from read_parquet('{lake}/provider_reports/openai_costs/*.parquet')"
    ) == [("gpt-4o-mini-2024-07-18, input", 1.80)]
    assert (results["anthropic/usage_messages/bad_buckets.json"].rows_loaded) == 0
    again = load_provider_reports(landing, lake)
    assert {r.status for r in again} == {"already_loaded"}


def test_a_page_outside_an_endpoint_folder_is_not_loaded(tmp_path):
    landing = tmp_path / "landing"
    (landing / "openai" / "embeddings").mkdir(parents=True)
    (landing / "openai" / "embeddings" / "p.json").write_text('{"data": []}')
    (landing / "openai" / "costs").mkdir(parents=True)
    (landing / "openai" / "costs" / "notes.txt").write_text("a note")
    statuses = {r.source_file: r.status for r in load_provider_reports(landing, tmp_path / "lake")}
    assert statuses == {
        "openai/embeddings/p.json": "unsupported",
        "openai/costs/notes.txt": "unsupported",
    }


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> DataPaths:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    return DataPaths(tmp_path / "data").ensure()


def test_the_ingest_asset_loads_the_pages_and_warns_on_quarantine(data_dir):
    _landed(data_dir.root, "openai")
    shutil.copytree(
        FIXTURES / "malformed" / "anthropic", data_dir.landing_for("provider_reports") / "anthropic"
    )
    result = materialize([ingest_provider_reports], resources={"settings": Settings()})
    assert result.success
    loaded = {
        m.asset_key: m.metadata["rows_loaded"].value
        for m in result.get_asset_materialization_events()
        for m in [m.event_specific_data.materialization]
        if "rows_loaded" in m.metadata
    }
    assert loaded[LAKE_PROVIDER_REPORTS["openai_usage"]] == _results_in_pages(
        FIXTURES / "openai/usage_completions"
    )
    assert loaded[LAKE_PROVIDER_REPORTS["anthropic_usage"]] == 0
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "every_provider_report_loaded"
    assert check.asset_key == LAKE_PROVIDER_REPORTS_QUARANTINE
    assert not check.passed
    problems = check.metadata["problems"].value
    assert any("bad_buckets.json" in p for p in problems)
    assert not any("openai" in p for p in problems)
