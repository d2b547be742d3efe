"""Great Expectations suites on the raw batches: the suites are valid GX, a failed expectation
names itself, its column and the offending records, the usage-event suite sees a deterministic
sample of its batch and still fails on a planted distribution problem, and such a batch stops the
marts. (Every per-record money rule is the ingestion validator's:
tests/test_money_rules_at_ingestion.py.)"""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest
from conftest import event, write_jsonl
from dagster import AssetKey

from orchestration import cli
from orchestration.checks import gx_validation
from orchestration.checks.gx_suites import check_results
from orchestration.checks.gx_validation import (
    SUITES_DIR,
    file_chunks,
    load_suite,
    plan_sample,
    read_batch,
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


def _lake_frame(rows: list[dict], source_file: str) -> pd.DataFrame:
    """Rows as the lake holds them (the columns the usage-event suite reads, typed)."""
    frame = pd.DataFrame(rows)
    frame["_source_file"] = source_file
    frame["_source_row"] = range(1, len(rows) + 1)
    for column in ("latency_ms", "attempt", "prompt_tokens", "completion_tokens"):
        frame[column] = pd.Series(frame.get(column), dtype="Int64")
    for column in ("event_id", "customer_id", "status"):
        frame[column] = pd.Series(frame.get(column), dtype="string")
    return frame


def _write_batch(tmp_path, files: dict[str, list[dict]]) -> list:
    tmp_path.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, (name, rows) in enumerate(files.items()):
        path = tmp_path / f"part-{n}.parquet"
        _lake_frame(rows, name).to_parquet(path)
        paths.append(path)
    return paths


def _calls(n: int, prefix: str = "e", **changes) -> list[dict]:
    """``n`` ordinary successful calls (the conftest's good event), ``changes`` applied to each."""
    return [event(event_id=f"{prefix}{i}", latency_ms=900 + i, **changes) for i in range(n)]


def test_a_failed_expectation_names_the_expectation_the_column_and_the_records():
    suite = load_suite("usage_events")
    rows = _calls(6)
    for i in (1, 2, 4):  # prompt counts in characters x1000: each one a valid record
        rows[i]["prompt_tokens"] = 3_000_000
    frame = _lake_frame(rows, "2025-03-01.jsonl")
    frame["success_prompt_tokens"] = frame["prompt_tokens"]
    frame["success_completion_tokens"] = frame["completion_tokens"]
    outcomes = validate("usage_events", "all", frame, suite["expectations"], suite["index_columns"])
    failed = {(o.expectation, o.column): o for o in outcomes if not o.success}
    assert set(failed) == {("expect_column_values_to_be_between", "success_prompt_tokens")}
    tokens = failed[("expect_column_values_to_be_between", "success_prompt_tokens")]
    assert tokens.blocking and tokens.unexpected_count == 3 and tokens.element_count == 6
    assert [(r["_source_file"], r["_source_row"]) for r in tokens.sample] == [
        ("2025-03-01.jsonl", 2),
        ("2025-03-01.jsonl", 3),
        ("2025-03-01.jsonl", 5),
    ]

    sample = {"rows_validated": 6, "batch_rows": 6, "drawn": "the whole batch"}
    blocking, warning = check_results(
        outcomes,
        (AssetKey(["lake", "usage_events"]), "gx_usage_events"),
        (AssetKey(["lake", "usage_events"]), "gx_usage_events_warnings"),
        {"lake_files": 1},
        sample,
    )
    assert not blocking.passed and warning.passed
    assert [d["column"] for d in blocking.metadata["failures"].value] == ["success_prompt_tokens"]
    assert "2025-03-01.jsonl" in blocking.metadata["summary"].value
    assert blocking.metadata["sample"].value == warning.metadata["sample"].value == sample


def test_the_sample_is_the_same_rows_every_run_and_keeps_an_events_versions_together(tmp_path):
    rows = _calls(400)
    # 100 events arrive twice (a stream's start record, then its final record)
    starts = [dict(r, status="in_progress", prompt_tokens=None) for r in rows[:100]]
    files = _write_batch(tmp_path, {"a.jsonl": rows[:250], "b.jsonl": rows[250:] + starts})
    read = load_suite("usage_events")["read"]

    sample = plan_sample(files, {"rows": 100, "key": "event_id"})
    assert sample.batch_rows == 500
    first = read_batch(files, read, sample)
    again = read_batch(files, read, plan_sample(files, {"rows": 100, "key": "event_id"}))
    pd.testing.assert_frame_equal(first, again)
    assert 50 <= len(first) <= 150  # about the 100 rows asked for, drawn from all 500

    # an event is in the sample with every version of it, or not at all
    whole = read_batch(files, read)
    versions = whole.groupby("event_id").size()
    sampled = first.groupby("event_id").size()
    assert (sampled == versions[sampled.index]).all()
    assert set(first["_source_file"]) == {"a.jsonl", "b.jsonl"}

    # a batch no larger than the sample is validated whole
    small = plan_sample(files, {"rows": 500, "key": "event_id"})
    assert len(read_batch(files, read, small)) == 500
    assert small.describe(500)["drawn"] == "the whole batch"


@pytest.mark.parametrize(
    ("problem", "changes", "column"),
    [
        ("prompt counts x1000", {"prompt_tokens": 2_400_000}, "success_prompt_tokens"),
        (
            "usage mapping lost",
            {"prompt_tokens": 0, "completion_tokens": 0},
            "success_prompt_tokens",
        ),
        ("completion counts summed", {"completion_tokens": 450_000}, "success_completion_tokens"),
    ],
)
def test_the_sampled_suite_fails_a_batch_with_a_planted_distribution_problem(
    tmp_path, problem, changes, column
):
    """Each record of the bad batch passes the ingestion validator (counts are whole, within
    0..10M); only their distribution is wrong. GX sees a sample of about a quarter of the batch
    and must fail the blocking check; the same batch without the problem passes."""
    clean = _calls(300, prefix="ok")
    bad = _calls(300, prefix="bad", **changes)
    for name, rows, should_pass in (("clean", clean, True), ("bad", bad, False)):
        files = _write_batch(tmp_path / name, {f"{name}.jsonl": rows})
        result = validate_batch("usage_events", {"all": files}, sample_rows=75)
        seen = result.samples["all"]
        assert seen["batch_rows"] == 300 and 0 < seen["rows_validated"] < 300
        assert "hash(event_id)" in seen["drawn"]
        failed = [(o.column, o.blocking) for o in result.outcomes if not o.success]
        if should_pass:
            assert failed == [], problem
        else:
            assert failed == [(column, True)], problem
            [outcome] = [o for o in result.outcomes if not o.success]
            assert outcome.element_count == seen["rows_validated"]


def test_a_row_wise_suite_validated_in_chunks_gives_the_whole_batch_result(tmp_path, monkeypatch):
    """Suites of row-wise expectations only (no sample) are validated a million rows at a time;
    the counts and the verdict must be those of the whole batch, and the sample of offending rows
    comes from every chunk, in file order."""
    suite = {
        "name": "rowwise",
        "read": "select prompt_tokens, _source_file, _source_row from batch",
        "index_columns": ["_source_file", "_source_row"],
        "expectations": [
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "prompt_tokens", "min_value": 0, "max_value": 10_000_000},
                "meta": {"blocking": True, "why": "test"},
            },
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "_source_file"},
                "meta": {"blocking": False},
            },
        ],
    }
    monkeypatch.setattr(gx_validation, "SUITES_DIR", tmp_path)
    (tmp_path / "rowwise.json").write_text(json.dumps(suite))
    batches = {}
    for n in range(4):  # 4 files of 3 rows; bad token counts in files 0, 2 and 3
        rows = _calls(3, prefix=f"e{n}-")
        if n != 1:
            rows[1]["prompt_tokens"] = 40_000_000_000
        batches[f"day{n}.jsonl"] = rows
    files = _write_batch(tmp_path, batches)
    assert [len(c) for c in file_chunks(files, 5)] == [1, 1, 1, 1]
    assert [len(c) for c in file_chunks(files, 6)] == [2, 2]

    whole = validate_batch("rowwise", {"all": files}, chunk_rows=100).outcomes
    chunked = validate_batch("rowwise", {"all": files}, chunk_rows=3).outcomes
    assert len(chunked) == len(whole) == 2
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


def test_a_usage_batch_with_a_unit_error_stops_the_marts_and_says_why(data_dir, capsys):
    """Every record is valid on its own (the validator loads them all); the batch's prompt counts
    are in the wrong unit, which only the distribution shows."""
    landing = data_dir.landing_for("usage_events")
    rows = [
        event(event_id=f"e{i}", occurred_at="2025-03-01T10:00:00Z", prompt_tokens=3_500_000)
        for i in range(4)
    ]
    landed = write_jsonl(landing / "2025-03-01.jsonl", rows)

    assert cli.main(["materialize", "--log-level", "ERROR"]) == 1
    err = capsys.readouterr().err
    assert "lake/usage_events:gx_usage_events" in err and "materialize failed" in err

    # the records passed the contract (they are in the lake) but no model was built from them
    files = list((data_dir.lake / "usage_events").glob("event_date=*/*.parquet"))
    with duckdb.connect() as con:
        loaded = con.execute(
            "select count(*) from read_parquet(?, union_by_name = true)",
            [[str(f) for f in files]],
        ).fetchone()[0]
    assert loaded == 4
    if data_dir.warehouse.exists():
        with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
            built = con.execute(
                "select count(*) from information_schema.tables where table_schema in "
                "('staging', 'intermediate', 'marts', 'audit')"
            ).fetchone()[0]
        assert built == 0

    # what the blocking check reports: expectation, column, file and line
    sha = file_sha256(landed)
    result = validate_batch("usage_events", {"all": _usage_event_files(data_dir.lake, "all", sha)})
    [failure] = [o for o in result.outcomes if not o.success]
    assert (failure.expectation, failure.column, failure.blocking) == (
        "expect_column_values_to_be_between",
        "success_prompt_tokens",
        True,
    )
    assert (failure.unexpected_count, failure.element_count) == (4, 4)
    assert failure.sample[0] == {
        "success_prompt_tokens": 3_500_000,
        "_source_file": "2025-03-01.jsonl",
        "_source_row": 1,
    }
    assert result.samples["all"]["drawn"] == "the whole batch"
