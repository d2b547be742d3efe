"""Great Expectations suites on the raw batches: the suites are valid GX, a failed expectation
names itself, its column and the offending records, and a corrupt batch stops the marts."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from conftest import event, write_jsonl
from dagster import AssetKey

from orchestration import cli
from orchestration.checks.gx_suites import (
    SUITES_DIR,
    check_results,
    file_chunks,
    load_suite,
    suite_parts,
    validate,
    validate_batch,
)
from orchestration.checks.raw_batches import _usage_event_files
from orchestration.ingest.lake import file_sha256

SUITES = ["usage_events", "pricing_exports", "billing_exports", "provider_invoices"]


@pytest.mark.parametrize("name", SUITES)
def test_every_suite_is_valid_gx_and_guards_money_with_blocking_expectations(name):
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    suite = load_suite(name)
    expectations = [e for part in suite_parts(suite).values() for e in part["expectations"]]
    for e in expectations:  # GX validates type and kwargs when it builds the expectation
        ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"], meta=e["meta"]).to_domain_obj()
    blocking = [e for e in expectations if e["meta"]["blocking"]]
    assert blocking and all(e["meta"].get("why") for e in blocking)
    assert f"{name}.json" in (SUITES_DIR / "README.md").read_text()


def test_a_failed_expectation_names_the_expectation_the_column_and_the_records():
    suite = load_suite("usage_events")
    rows = [event(event_id=f"e{i}", cached_prompt_tokens=0) for i in range(6)]
    rows[2]["prompt_tokens"] = 40_000_000_000  # a corrupt count the contract cannot reject
    rows[4]["service_tier"] = "turbo"
    frame = pd.DataFrame(rows)
    frame["_source_file"] = "2025-03-01.jsonl"
    frame["_source_row"] = range(1, len(rows) + 1)
    for column in ("cache_write_tokens", "reasoning_tokens", "latency_ms"):
        frame[column] = None
    outcomes = validate("usage_events", "all", frame, suite["expectations"], suite["index_columns"])
    failed = {(o.expectation, o.column): o for o in outcomes if not o.success}
    assert set(failed) == {
        ("expect_column_values_to_be_between", "prompt_tokens"),
        ("expect_column_values_to_be_in_set", "service_tier"),
    }
    tokens = failed[("expect_column_values_to_be_between", "prompt_tokens")]
    assert tokens.blocking and tokens.unexpected_count == 1 and tokens.element_count == 6
    assert tokens.sample[0]["_source_file"] == "2025-03-01.jsonl"
    assert tokens.sample[0]["_source_row"] == 3

    blocking, warning = check_results(
        outcomes,
        (AssetKey(["lake", "usage_events"]), "gx_usage_events"),
        (AssetKey(["lake", "usage_events"]), "gx_usage_events_warnings"),
        {"lake_files": 1},
    )
    assert not blocking.passed and warning.passed  # both failures are blocking ones
    described = blocking.metadata["failures"].value
    assert {d["column"] for d in described} == {"prompt_tokens", "service_tier"}
    assert "2025-03-01.jsonl" in blocking.metadata["summary"].value


def test_a_batch_validated_in_chunks_gives_the_whole_batch_result(tmp_path):
    """Big batches are validated a million rows at a time; the counts and the verdict must be
    those of the whole batch, and the sample comes from every chunk, in file order."""
    suite = load_suite("usage_events")
    files = []
    for n in range(4):  # 4 files of 3 rows; bad token counts in files 0, 2 and 3
        rows = [event(event_id=f"e{n}-{i}", cached_prompt_tokens=0) for i in range(3)]
        if n != 1:
            rows[1]["prompt_tokens"] = 40_000_000_000
        frame = pd.DataFrame(rows)
        frame["_source_file"] = f"day{n}.jsonl"
        frame["_source_row"] = range(1, 4)
        for column in ("cache_write_tokens", "reasoning_tokens", "latency_ms", "attempt"):
            if column not in frame:
                frame[column] = pd.Series([None] * 3, dtype="Int64")
        for column in ("service_tier", "status"):
            if column not in frame:
                frame[column] = pd.Series([None] * 3, dtype="string")
        path = tmp_path / f"part-{n}.parquet"
        frame.to_parquet(path)
        files.append(path)
    assert [len(c) for c in file_chunks(files, 5)] == [1, 1, 1, 1]
    assert [len(c) for c in file_chunks(files, 6)] == [2, 2]

    whole = validate_batch("usage_events", {"all": files}, chunk_rows=100)
    chunked = validate_batch("usage_events", {"all": files}, chunk_rows=3)
    assert len(chunked) == len(whole) == len(suite["expectations"])
    for a, b in zip(whole, chunked, strict=True):
        assert (a.expectation, a.column, a.success) == (b.expectation, b.column, b.success)
        assert (a.unexpected_count, a.element_count) == (b.unexpected_count, b.element_count)
    [tokens] = [o for o in chunked if not o.success]
    assert (tokens.column, tokens.unexpected_count, tokens.element_count) == (
        "prompt_tokens",
        3,
        12,
    )
    assert [(r["_source_file"], r["_source_row"]) for r in tokens.sample] == [
        ("day0.jsonl", 2),
        ("day2.jsonl", 2),
        ("day3.jsonl", 2),
    ]


def test_a_corrupt_usage_batch_stops_the_marts_and_says_why(data_dir, capsys):
    landing = data_dir.landing_for("usage_events")
    good = [event(event_id=f"e{i}", occurred_at="2025-03-01T10:00:00Z") for i in range(3)]
    corrupt = event(event_id="e-bad", prompt_tokens=50_000_000_000, cached_prompt_tokens=0)
    landed = write_jsonl(landing / "2025-03-01.jsonl", [*good, corrupt])

    assert cli.main(["materialize", "--log-level", "ERROR"]) == 1
    err = capsys.readouterr().err
    assert "lake/usage_events:gx_usage_events" in err and "materialize failed" in err

    # the record passed the contract (it is in the lake) but no model was built from it
    files = list((data_dir.lake / "usage_events").glob("event_date=*/*.parquet"))
    with duckdb.connect() as con:
        loaded = con.execute(
            "select count(*) from read_parquet(?, union_by_name = true) where event_id = 'e-bad'",
            [[str(f) for f in files]],
        ).fetchone()[0]
    assert loaded == 1
    if data_dir.warehouse.exists():
        with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
            built = con.execute(
                "select count(*) from information_schema.tables where table_schema in "
                "('staging', 'intermediate', 'marts', 'audit')"
            ).fetchone()[0]
        assert built == 0

    # what the blocking check reports: expectation, column, file and line
    sha = file_sha256(landed)
    outcomes = validate_batch(
        "usage_events", {"all": _usage_event_files(data_dir.lake, "all", sha)}
    )
    [failure] = [o for o in outcomes if not o.success]
    assert (failure.expectation, failure.column, failure.blocking) == (
        "expect_column_values_to_be_between",
        "prompt_tokens",
        True,
    )
    assert failure.sample == [
        {"prompt_tokens": 50_000_000_000, "_source_file": "2025-03-01.jsonl", "_source_row": 4}
    ]
