"""Every quarantine reason: a bad record is kept with its file, line, raw text and a reason naming
the field; the good records of the same file still load."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import DROP, event, write_jsonl

from orchestration.ingest.lake import Lake
from orchestration.ingest.usage_events import load_file

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

BAD_RECORDS = [
    # (case id, raw line, expected code, expected field, words the message must contain)
    ("bad_json", '{"event_id": "x", "occurred_at": ', "bad_json", None, "not valid JSON"),
    ("empty_line", "", "empty_record", None, "empty"),
    ("json_array", "[1, 2, 3]", "not_an_object", None, "array"),
    ("missing_event_id", event(event_id=DROP), "missing_required", "event_id", "required"),
    ("blank_event_id", event(event_id="  "), "missing_required", "event_id", "required"),
    ("missing_occurred_at", event(occurred_at=DROP), "missing_required", "occurred_at", "required"),
    ("missing_provider", event(provider=DROP), "missing_required", "provider", "required"),
    ("missing_model", event(model=None), "missing_required", "model", "required"),
    ("tokens_as_text", event(prompt_tokens="abc"), "wrong_type", "prompt_tokens", '"abc"'),
    (
        "tokens_fraction",
        event(completion_tokens=12.5),
        "wrong_type",
        "completion_tokens",
        "whole number",
    ),
    ("id_as_number", event(customer_id=42), "wrong_type", "customer_id", "string"),
    ("timestamp_as_number", event(occurred_at=1700000000), "wrong_type", "occurred_at", "ISO-8601"),
    ("negative_tokens", event(completion_tokens=-5), "negative_value", "completion_tokens", "-5"),
    ("negative_latency", event(latency_ms=-1), "negative_value", "latency_ms", "negative"),
    (
        "cached_exceeds_prompt",
        event(prompt_tokens=100, cached_prompt_tokens=80, cache_write_tokens=30),
        "cached_exceeds_prompt",
        "cached_prompt_tokens",
        "110",
    ),
    (
        "reasoning_exceeds_completion",
        event(completion_tokens=10, reasoning_tokens=11),
        "reasoning_exceeds_completion",
        "reasoning_tokens",
        "11",
    ),
    ("unknown_status", event(status="exploded"), "unknown_value", "status", "exploded"),
    ("unknown_outcome", event(outcome="meh"), "unknown_value", "outcome", "meh"),
    ("unknown_service_tier", event(service_tier="gold"), "unknown_value", "service_tier", "gold"),
    (
        "unparsable_timestamp",
        event(occurred_at="yesterday at noon"),
        "invalid_timestamp",
        "occurred_at",
        "yesterday",
    ),
    (
        "bad_emitted_at",
        event(emitted_at="2025-02-30T00:00:00Z"),
        "invalid_timestamp",
        "emitted_at",
        "2025-02-30",
    ),
    (
        "far_future",
        event(occurred_at="2031-01-01T00:00:00Z"),
        "future_timestamp",
        "occurred_at",
        "future",
    ),
    (
        "implausibly_old",
        event(occurred_at="1999-01-01T00:00:00Z"),
        "timestamp_out_of_range",
        "occurred_at",
        "2015",
    ),
    ("attempt_zero", event(attempt=0), "invalid_attempt", "attempt", "1 or more"),
    (
        "final_without_completion",
        event(completion_tokens=DROP),
        "missing_final_tokens",
        "completion_tokens",
        "final record",
    ),
    (
        "final_without_prompt",
        event(status="error", prompt_tokens=DROP),
        "missing_final_tokens",
        "prompt_tokens",
        "final record",
    ),
    (
        "first_attempt_untagged",
        event(customer_id=DROP),
        "missing_task_tag",
        "customer_id",
        "first attempt",
    ),
    ("first_attempt_no_feature", event(feature=""), "missing_task_tag", "feature", "first attempt"),
]


def _quarantine(lake: Lake) -> list[dict]:
    with duckdb.connect() as con:
        cur = con.execute(
            f"select * from read_parquet('{lake.quarantine}/*.parquet') order by source_file, source_row"
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _lake_rows(lake: Lake) -> list[dict]:
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        cur = con.execute(
            f"select * from read_parquet('{lake.data}/*/*.parquet', hive_partitioning = true) "
            "order by _source_file, _source_row"
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@pytest.mark.parametrize(
    ("case", "raw", "code", "field", "words"), BAD_RECORDS, ids=[c[0] for c in BAD_RECORDS]
)
def test_bad_record_is_quarantined_with_a_reason_naming_the_field(
    data_dir, case, raw, code, field, words
):
    landing = data_dir.landing_for("usage_events")
    path = write_jsonl(
        landing / "mixed.jsonl", [event(event_id="good-1"), raw, event(event_id="good-2")]
    )
    lake = Lake(data_dir.lake)
    from orchestration.ingest.usage_events import ensure_lake

    ensure_lake(lake)
    result = load_file(path, landing, lake, now=NOW)

    assert (result.records_read, result.records_loaded, result.records_quarantined) == (3, 2, 1)
    [bad] = [r for r in _quarantine(lake) if r["source_file"] == "mixed.jsonl"]
    assert bad["source_row"] == 2  # the line number in the file
    assert bad["error_code"] == code
    assert bad["error_field"] == field
    assert words in bad["error_message"]
    expected_raw = raw if isinstance(raw, str) else json.dumps(raw)
    assert bad["raw_record"] == expected_raw
    assert [r["event_id"] for r in _lake_rows(lake)] == ["good-1", "good-2"]


def test_a_record_with_several_faults_lists_them_all(data_dir):
    landing = data_dir.landing_for("usage_events")
    path = write_jsonl(
        landing / "f.jsonl", [event(status="boom", completion_tokens=-1, model=DROP)]
    )
    lake = Lake(data_dir.lake)
    load_file(path, landing, lake, now=NOW)
    [bad] = _quarantine(lake)
    codes = {e["code"] for e in json.loads(bad["errors"])}
    assert codes == {"missing_required", "negative_value", "unknown_value"}
    assert bad["error_count"] == 3
    assert bad["error_code"] == "missing_required"  # the most basic fault is reported first


def test_valid_variants_are_accepted(data_dir):
    landing = data_dir.landing_for("usage_events")
    records = [
        event(event_id="offset", occurred_at="2025-03-01T23:30:00-05:00"),
        event(event_id="naive-utc", occurred_at="2025-03-01 10:00:00"),
        event(event_id="float-int", prompt_tokens=1200.0),
        event(
            event_id="retry-untagged",
            customer_id=DROP,
            workspace_id=DROP,
            feature=DROP,
            parent_event_id="offset",
            attempt=2,
        ),
        event(
            event_id="stream-start",
            status="in_progress",
            prompt_tokens=DROP,
            completion_tokens=DROP,
        ),
        event(event_id="upper-enum", status="SUCCESS", service_tier="Batch"),
        event(event_id="extra", gateway_region="eu-west-1", request_tags={"team": "a"}),
    ]
    path = write_jsonl(landing / "ok.jsonl", records)
    lake = Lake(data_dir.lake)
    result = load_file(path, landing, lake, now=NOW)
    assert result.records_quarantined == 0, _quarantine(lake)
    rows = {r["event_id"]: r for r in _lake_rows(lake)}
    assert rows["offset"]["occurred_at"] == datetime(2025, 3, 2, 4, 30, tzinfo=UTC)
    assert str(rows["offset"]["event_date"]) == "2025-03-02"
    assert rows["float-int"]["prompt_tokens"] == 1200
    assert json.loads(rows["extra"]["attributes"]) == {
        "gateway_region": "eu-west-1",
        "request_tags": {"team": "a"},
    }
    assert rows["offset"]["attributes"] is None


def test_extra_fields_in_another_order_are_stored_as_one_text(data_dir):
    # one event re-sent by another serialiser: its extra fields arrive in another order, and a
    # re-delivered copy that wins the tie-break must not change the stored attributes
    landing = data_dir.landing_for("usage_events")
    nested = {"team": "a", "cost_center": "b"}  # nested order is kept as sent
    write_jsonl(landing / "first.jsonl", [event(event_id="e-1", zone="z", app="x", tags=nested)])
    write_jsonl(landing / "again.jsonl", [event(event_id="e-2", tags=nested, app="x", zone="z")])
    lake = Lake(data_dir.lake)
    for name in ("first.jsonl", "again.jsonl"):
        load_file(landing / name, landing, lake, now=NOW)
    texts = {r["event_id"]: r["attributes"] for r in _lake_rows(lake)}
    expected = '{"app":"x","tags":{"team":"a","cost_center":"b"},"zone":"z"}'
    assert texts == {"e-1": expected, "e-2": expected}


def test_csv_rows_are_validated_like_json_and_wrong_cell_counts_are_kept(data_dir):
    landing = data_dir.landing_for("usage_events")
    path = landing / "sheet.csv"
    header = "event_id,occurred_at,customer_id,workspace_id,feature,provider,model,prompt_tokens,completion_tokens,note"
    rows = [
        "c-1,2025-03-01T10:00:00Z,cus-1,ws-1,chat,openai,gpt-4o,100,20,hello",
        "c-2,2025-03-01T10:00:00Z,cus-1,ws-1,chat,openai,gpt-4o,abc,20,",
        "c-3,2025-03-01T10:00:00Z,cus-1",
        "c-4,2025-03-01T10:00:00Z,cus-1,ws-1,chat,openai,gpt-4o,100,20,",
    ]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    lake = Lake(data_dir.lake)
    result = load_file(path, landing, lake, now=NOW)
    assert (result.records_read, result.records_loaded, result.records_quarantined) == (4, 2, 2)
    bad = {r["source_row"]: r for r in _quarantine(lake)}
    assert bad[2]["error_code"] == "wrong_type" and bad[2]["error_field"] == "prompt_tokens"
    assert bad[3]["error_code"] == "wrong_cell_count"
    assert bad[3]["raw_record"] == "c-3,2025-03-01T10:00:00Z,cus-1"
    good = {r["event_id"]: r for r in _lake_rows(lake)}
    assert good["c-1"]["prompt_tokens"] == 100
    assert json.loads(good["c-1"]["attributes"]) == {"note": "hello"}
    assert good["c-4"]["_source_row"] == 4


def test_parquet_files_load_with_row_numbers(data_dir):
    landing = data_dir.landing_for("usage_events")
    table = pa.table(
        {
            "event_id": ["p-1", "p-2", None],
            "occurred_at": ["2025-03-01T10:00:00Z"] * 3,
            "customer_id": ["cus-1"] * 3,
            "workspace_id": ["ws-1"] * 3,
            "feature": ["chat"] * 3,
            "provider": ["anthropic"] * 3,
            "model": ["claude-sonnet-4"] * 3,
            "prompt_tokens": pa.array([10, -1, 10], pa.int64()),
            "completion_tokens": pa.array([5, 5, 5], pa.int32()),
        }
    )
    path = landing / "batch.parquet"
    pq.write_table(table, path)
    lake = Lake(data_dir.lake)
    result = load_file(path, landing, lake, now=NOW)
    assert (result.records_read, result.records_loaded, result.records_quarantined) == (3, 1, 2)
    bad = {r["source_row"]: r["error_code"] for r in _quarantine(lake)}
    assert bad == {2: "negative_value", 3: "missing_required"}


def test_gzip_jsonl_and_invalid_utf8(data_dir):
    landing = data_dir.landing_for("usage_events")
    path = landing / "day.jsonl.gz"
    import gzip

    with gzip.open(path, "wb") as handle:
        handle.write(json.dumps(event(event_id="g-1")).encode() + b"\r\n")
        handle.write(b'{"event_id": "\xff\xfe"}\n')
        handle.write(json.dumps(event(event_id="g-3")).encode())  # no final newline
    lake = Lake(data_dir.lake)
    result = load_file(path, landing, lake, now=NOW)
    assert (result.records_read, result.records_loaded, result.records_quarantined) == (3, 2, 1)
    [bad] = _quarantine(lake)
    assert (bad["source_row"], bad["error_code"]) == (2, "invalid_encoding")
    assert bad["raw_record"].startswith("hex:")
