"""Every record still passes every money rule somewhere: each rule the usage-event Great
Expectations suite used to check per record is the ingestion validator's, which sees every record
and quarantines the one that breaks it (the suite now sees a sample, tests/test_raw_batch_
expectations.py). Most of these cases were already in tests/test_ingest_validation.py
(``BAD_RECORDS``); the ones that were not are here."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest
from conftest import event, write_jsonl
from test_ingest_validation import BAD_RECORDS

from orchestration.ingest.lake import Lake
from orchestration.ingest.usage_events import ensure_lake, load_file

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
TOKEN_CLASSES = (
    "prompt_tokens",
    "cached_prompt_tokens",
    "cache_write_tokens",
    "completion_tokens",
    "reasoning_tokens",
)

# The per-record expectations of expectations/usage_events.json before it was sampled (commit
# 7e62657), written out here: (expectation, column, what it allowed).
OLD_PER_RECORD_RULES = [
    ("expect_column_values_to_not_be_null", "event_id", "present"),
    ("expect_column_values_to_not_be_null", "provider", "present"),
    ("expect_column_values_to_not_be_null", "model", "present"),
    *[("expect_column_values_to_be_between", c, "0..10000000") for c in TOKEN_CLASSES],
    ("expect_column_pair_values_a_to_be_greater_than_b", "prompt_tokens >= cached", "a >= b"),
    ("expect_column_values_to_be_in_set", "service_tier", "standard, batch, flex, priority"),
    ("expect_column_values_to_be_in_set", "status", "the contract's statuses"),
    ("expect_column_values_to_be_between", "latency_ms", "0..86400000"),
    ("expect_column_values_to_be_between", "attempt", "1..500"),
]

# Records that break one of those rules and are not among BAD_RECORDS: (case id, record, code,
# field). Tokens of a class over 10M are the suite's magnitude rule, now the contract's maximum.
MISSING_CASES = [
    *[
        (f"negative_{c}", event(**{c: -1}), "negative_value", c)
        for c in TOKEN_CLASSES
        if c != "completion_tokens"
    ],
    # over 10M: reported before the cross-field rule (cached within prompt) it also breaks
    *[(f"huge_{c}", event(**{c: 10_000_001}), "out_of_range", c) for c in TOKEN_CLASSES[:4]],
    (
        "huge_reasoning_tokens",
        event(reasoning_tokens=40_000_000_000),
        "out_of_range",
        "reasoning_tokens",
    ),
]

# Where each old rule is now checked on every record: (case ids in BAD_RECORDS or MISSING_CASES).
# The upper bounds on latency (a day) and attempt (500) are not money and stay in the sampled
# suite as warnings.
COVERED_BY = {
    "event_id": ["missing_event_id", "blank_event_id"],
    "provider": ["missing_provider"],
    "model": ["missing_model"],
    **{c: [f"negative_{c}", f"huge_{c}"] for c in TOKEN_CLASSES},
    "completion_tokens": ["negative_tokens", "huge_completion_tokens"],
    "prompt_tokens >= cached": ["cached_exceeds_prompt"],
    "service_tier": ["unknown_service_tier"],
    "status": ["unknown_status"],
    "latency_ms": ["negative_latency"],
    "attempt": ["attempt_zero"],
}


def test_every_per_record_rule_of_the_old_suite_has_a_record_that_breaks_it():
    cases = {c[0] for c in BAD_RECORDS} | {c[0] for c in MISSING_CASES}
    assert {column for _, column, _ in OLD_PER_RECORD_RULES} == COVERED_BY.keys()
    for column, case_ids in COVERED_BY.items():
        assert set(case_ids) <= cases, (column, set(case_ids) - cases)


def _quarantined(lake: Lake) -> list[dict]:
    with duckdb.connect() as con:
        cur = con.execute(
            f"select source_row, error_code, error_field, error_message, errors "
            f"from read_parquet('{lake.quarantine}/*.parquet') order by source_row"
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@pytest.mark.parametrize(
    ("case", "record", "code", "field"), MISSING_CASES, ids=[c[0] for c in MISSING_CASES]
)
def test_a_record_breaking_a_money_rule_is_quarantined_and_its_file_still_loads(
    data_dir, case, record, code, field
):
    landing = data_dir.landing_for("usage_events")
    path = write_jsonl(
        landing / "mixed.jsonl",
        [event(event_id="good-1"), dict(record, event_id="bad"), event(event_id="good-2")],
    )
    lake = Lake(data_dir.lake)
    ensure_lake(lake)
    result = load_file(path, landing, lake, now=NOW)

    assert (result.records_read, result.records_loaded, result.records_quarantined) == (3, 2, 1)
    [bad] = _quarantined(lake)
    assert bad["source_row"] == 2
    assert (bad["error_code"], bad["error_field"]) == (code, field)
    assert str(record[field]) in bad["error_message"]
    if code == "out_of_range":
        assert "at most 10000000" in bad["error_message"]


def test_a_count_at_the_maximum_loads(data_dir):
    """10,000,000 tokens of a class is allowed, as the old suite's inclusive max_value allowed it;
    the contract states the same maximum for every token class."""
    from orchestration.contract import fields

    maxima = {f.name: f.maximum for f in fields() if f.maximum is not None}
    assert maxima == dict.fromkeys(TOKEN_CLASSES, 10_000_000)
    landing = data_dir.landing_for("usage_events")
    path = write_jsonl(
        landing / "edge.jsonl",
        [event(event_id="edge", prompt_tokens=10_000_000, completion_tokens=10_000_000)],
    )
    lake = Lake(data_dir.lake)
    ensure_lake(lake)
    result = load_file(path, landing, lake, now=NOW)
    assert (result.records_loaded, result.records_quarantined) == (1, 0)
