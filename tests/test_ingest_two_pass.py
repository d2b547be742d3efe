"""The usage-event loader splits a batch with one boolean per record and builds the reasons over
the bad records alone (``usage_events.validate_batch``); it decodes lines strictly when they are
all UTF-8 and rewrites a record for ``attributes`` only when it has unknown fields. Each shortcut
must give what the plain one-pass validator gives (``validation_sql(with_errors=True)``, the
tolerant decode, every record), on a generated set with planted malformed records of every kind
and on the line shapes the shortcuts are about."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from conftest import DROP, event, write_jsonl

from orchestration.contract import field_names
from orchestration.ingest.lake import Lake
from orchestration.ingest.readers import read_records
from orchestration.ingest.usage_events import landing_files, load_file, validate_batch
from orchestration.ingest.validate import MAPPING_ERROR, run_clock_sql, validation_sql
from sample_data import generate

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
KNOWN = {*field_names(), MAPPING_ERROR}

# The quarantine code each planted fault of the generator (sample_data.faults.FAULTS) gets.
FAULT_CODES = {
    "bad_json": "bad_json",
    "empty_line": "empty_record",
    "missing_event_id": "missing_required",
    "missing_occurred_at": "missing_required",
    "missing_provider": "missing_required",
    "missing_model": "missing_required",
    "wrong_type": "wrong_type",
    "negative_tokens": "negative_value",
    "cached_exceeds_prompt": "cached_exceeds_prompt",
    "reasoning_exceeds_completion": "reasoning_exceeds_completion",
    "unknown_status": "unknown_value",
    "unknown_outcome": "unknown_value",
    "unknown_service_tier": "unknown_value",
    "bad_timestamp": "invalid_timestamp",
    "future_timestamp": "future_timestamp",
    "attempt_zero": "invalid_attempt",
    "final_missing_completion": "missing_final_tokens",
    "first_attempt_missing_customer": "missing_task_tag",
    "wrong_column_count": "wrong_cell_count",
}
TYPED = ", ".join(field_names())


@pytest.fixture(scope="module")
def generated_landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("two-pass") / "data"
    summary = generate(root, events=3000, days=12, customers=6, seed=13, progress=False)
    assert set(summary.malformed) == set(FAULT_CODES), summary.malformed
    return root / "landing" / "usage_events"


def _connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set timezone = 'UTC'")
    con.execute(f"create temp table run_clock as {run_clock_sql(NOW, 24)}")
    return con


def _one_pass(con: duckdb.DuckDBPyConnection, batch) -> None:
    """Every record through the plain validator, with its errors: the table ``one_pass``."""
    con.register("records", batch.table)
    sql = validation_sql(
        numbers_as_text=batch.numbers_as_text,
        from_bytes="raw_bytes" in batch.table.column_names,
        with_source_file="source_file" in batch.table.column_names,
    )
    con.execute(f"create or replace temp table one_pass as {sql}")
    con.unregister("records")


def _differences(con: duckdb.DuckDBPyConnection, left: str, right: str) -> int:
    return con.execute(
        f"select (select count(*) from ({left} except all {right})) "
        f"+ (select count(*) from ({right} except all {left}))"
    ).fetchone()[0]


def test_the_two_passes_split_and_explain_every_generated_record_as_one_pass_does(
    generated_landing,
):
    codes: set[str] = set()
    formats: set[str] = set()
    records = 0
    for path in landing_files(generated_landing):
        formats.add(path.name.split(".", 1)[1])
        for batch in read_records(path):
            with _connection() as con:
                bad = validate_batch(con, batch)
                _one_pass(con, batch)
                records += batch.table.num_rows
                # the same records are bad, and nothing else
                assert (
                    bad
                    == con.execute(
                        "select count(*) from one_pass where len(errors) > 0"
                    ).fetchone()[0]
                )
                # good records: the same typed fields and attributes
                assert not _differences(
                    con,
                    f"select source_row, {TYPED}, attributes from validated where not is_bad",
                    f"select source_row, {TYPED}, attributes from one_pass where len(errors) = 0",
                ), path.name
                if not bad:
                    continue
                # bad records: the same errors, in the same order, and the same raw text
                assert not _differences(
                    con,
                    f"select source_row, raw_record, to_json(errors)::varchar, {TYPED} from rejected",
                    f"select source_row, raw_record, to_json(errors)::varchar, {TYPED} "
                    "from one_pass where len(errors) > 0",
                ), path.name
                codes |= {
                    code
                    for (code,) in con.execute(
                        "select distinct unnest(errors).code from rejected"
                    ).fetchall()
                }
    assert records > 2500
    assert {"jsonl", "jsonl.gz", "csv", "parquet"} <= formats, formats
    assert set(FAULT_CODES.values()) <= codes, set(FAULT_CODES.values()) - codes


def test_attributes_are_the_unknown_fields_of_every_generated_record(generated_landing):
    """Against the record's own JSON read in Python: its fields outside the contract."""
    lake = Lake(generated_landing.parent.parent / "lake-attributes")
    checked = with_unknown = 0
    for path in landing_files(generated_landing):
        if not path.name.endswith(".jsonl.gz"):
            continue
        load_file(path, generated_landing, lake, now=NOW)
        import gzip

        lines = gzip.decompress(path.read_bytes()).decode().splitlines()
        with duckdb.connect() as con:
            rows = con.execute(
                f"select _source_row, attributes from read_parquet('{lake.data}/*/*.parquet', "
                "hive_partitioning = true) where _source_file = ?",
                [path.name],
            ).fetchall()
        for source_row, attributes in rows:
            record = json.loads(lines[source_row - 1])
            unknown = {k: v for k, v in record.items() if k not in KNOWN}
            assert (json.loads(attributes) if attributes else None) == (unknown or None)
            checked += 1
            with_unknown += bool(unknown)
    assert checked > 1000 and with_unknown > 0, (checked, with_unknown)


def test_line_ends_and_blank_lines_read_as_the_text_between_them(data_dir):
    """A record is its line without the trailing CR and LF bytes, however many; a line that is
    empty once trimmed is an empty record; a tab is not blank, so it is not JSON."""
    landing = data_dir.landing_for("usage_events")
    good = json.dumps(event(event_id="crlf")).encode()
    lines = [
        good + b"\r\n",  # 1 Windows line end
        json.dumps(event(event_id="cr-cr-lf")).encode() + b"\r\r\n",  # 2
        b"\r\n",  # 3 nothing but the line end
        b"   \n",  # 4 spaces
        "\u00a0\u3000\n".encode(),  # 5 no-break and ideographic spaces (trim removes them)
        b"\t\n",  # 6 a tab
        b"  " + json.dumps(event(event_id="indented")).encode() + b"\n",  # 7
        b'{"event_id": "cut\r\n',  # 8 broken JSON, quoted without its line end
        json.dumps(event(event_id="last")).encode(),  # 9 no final newline
    ]
    path = landing / "ends.jsonl"
    path.write_bytes(b"".join(lines))
    lake = Lake(data_dir.lake)

    result = load_file(path, landing, lake, now=NOW)

    with duckdb.connect() as con:
        bad = {
            row: (code, raw)
            for row, code, raw in con.execute(
                f"select source_row, error_code, raw_record from read_parquet('{lake.quarantine}/*.parquet')"
            ).fetchall()
        }
        loaded = {
            row: eid
            for row, eid in con.execute(
                f"select _source_row, event_id from read_parquet('{lake.data}/*/*.parquet')"
            ).fetchall()
        }
    assert loaded == {1: "crlf", 2: "cr-cr-lf", 7: "indented", 9: "last"}
    assert bad == {
        3: ("empty_record", ""),
        4: ("empty_record", "   "),
        5: ("empty_record", "\u00a0\u3000"),
        6: ("bad_json", "\t"),
        8: ("bad_json", '{"event_id": "cut'),
    }
    assert (result.records_read, result.records_loaded, result.records_quarantined) == (9, 4, 5)


def test_a_batch_with_a_line_that_is_not_utf8_loads_the_rest_as_usual(data_dir):
    """The strict decode refuses such a batch; the tolerant one runs instead."""
    landing = data_dir.landing_for("usage_events")
    path = landing / "mixed.jsonl"
    path.write_bytes(
        json.dumps(event(event_id="a", note="caf\u00e9")).encode()
        + b"\n\xc3\x28\n"
        + json.dumps(event(event_id="b")).encode()
        + b"\r\n"
    )
    lake = Lake(data_dir.lake)
    result = load_file(path, landing, lake, now=NOW)
    assert (result.records_read, result.records_loaded, result.records_quarantined) == (3, 2, 1)
    with duckdb.connect() as con:
        [(row, code, raw)] = con.execute(
            f"select source_row, error_code, raw_record from read_parquet('{lake.quarantine}/*.parquet')"
        ).fetchall()
        notes = con.execute(
            f"select event_id, attributes from read_parquet('{lake.data}/*/*.parquet') order by 1"
        ).fetchall()
    assert (row, code, raw) == (2, "invalid_encoding", "hex:C3280A")
    assert [(eid, json.loads(a) if a else None) for eid, a in notes] == [
        ("a", {"note": "caf\u00e9"}),
        ("b", None),
    ]


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (event(event_id="plain"), None),
        (event(event_id="unknown-null", extra=None), {"extra": None}),
        (event(event_id="nested", extra={"a": [1, 2]}), {"extra": {"a": [1, 2]}}),
        (event(event_id="explicit-null-known", route=None, user_id=None), None),
        (event(event_id="no-optional", route=DROP, user_id=DROP, retries=DROP), None),
        # in a contract file, the key a source mapping uses for its errors is an unknown field
        # like any other (tests/test_contract_properties.py found it was dropped, or worse)
        ({**event(event_id="mapping"), MAPPING_ERROR: None}, {MAPPING_ERROR: None}),
    ],
    ids=lambda v: v["event_id"] if isinstance(v, dict) and "event_id" in v else None,
)
def test_attributes_hold_exactly_the_fields_outside_the_contract(data_dir, record, expected):
    landing = data_dir.landing_for("usage_events")
    path = write_jsonl(landing / "attrs.jsonl", [record])
    lake = Lake(data_dir.lake)
    result = load_file(path, landing, lake, now=NOW)
    assert result.records_loaded == 1
    with duckdb.connect() as con:
        [(attributes,)] = con.execute(
            f"select attributes from read_parquet('{lake.data}/*/*.parquet')"
        ).fetchall()
    assert (json.loads(attributes) if attributes else None) == expected


def test_a_repeated_key_is_bad_json_not_an_unknown_field(data_dir):
    """A record with a known key twice is not JSON other readers agree on (DuckDB reads the first
    value, most readers the last): it is quarantined as bad_json, never loaded with one of its
    two values or mistaken for a record with an unknown field (docs/usage-events.md)."""
    landing = data_dir.landing_for("usage_events")
    text = json.dumps(event(event_id="twice"))[:-1] + ', "route": "again"}'
    path = write_jsonl(landing / "twice.jsonl", [text])
    lake = Lake(data_dir.lake)
    result = load_file(path, landing, lake, now=NOW)
    assert result.records_loaded == 0
    assert result.quarantine_by_reason == {"bad_json": 1}
