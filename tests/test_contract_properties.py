"""The contract as the oracle: generated usage-event records, in every format ingestion accepts,
load or are quarantined exactly as the contract says.

Each example is one file of many generated records (JSON Lines plain or gzip, CSV, Parquet),
loaded with ``usage_events.load_file`` into a fresh lake. The verdict for each record comes from
``usage_event_oracle``: the contract's JSON Schema checked with ``jsonschema`` plus the rules of
docs/usage-events.md written out there, never the project's validator. A record the oracle
accepts must be in the lake with exactly its values (and its unknown fields in ``attributes``);
any other must be in quarantine, at its row, listing every rule it breaks and no rule it keeps.

The CSV oracle: a CSV cell is text. A row is the JSON record whose fields are its cells, an
empty cell null, and a cell of a count column that is digits with an optional sign (spaces
around allowed) that whole number; any other text in a count column stays text, which the
contract's ``integer`` refuses (docs/usage-events.md, "Files" and "Whole numbers").

The Parquet oracle: a row is the JSON record of its values (integers and floats as JSON
numbers, text as strings, booleans as booleans), and a timestamp column's value the instant it
holds.

Examples: `make test` runs a bounded, derandomized number (the ``ci`` Hypothesis profile in
tests/conftest.py); `make fuzz` many more (``HYPOTHESIS_PROFILE=fuzz``). A defect found once is
kept as an ``@example``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import duckdb
from hypothesis import example, given
from hypothesis import strategies as st
from usage_event_oracle import (
    NOW,
    PROPERTIES,
    TIMESTAMP_FIELDS,
    Verdict,
    codes,
    csv_record,
    judge_json_line,
    judge_record,
    parse_timestamp,
)
from usage_event_strategies import (
    csv_cell,
    csv_columns,
    csv_extra_keys,
    csv_text,
    json_lines,
    parquet_table,
    records,
    write_jsonl,
    write_parquet,
)

from orchestration.ingest.lake import Lake
from orchestration.ingest.usage_events import FileLoad, load_file


def _load(name: str, write) -> tuple[FileLoad, dict[int, dict], dict[int, dict]]:
    """Write one landing file into a fresh data directory, load it, and return the load and the
    lake's and the quarantine's rows by their row in the file."""
    with tempfile.TemporaryDirectory() as tmp:
        landing, lake = Path(tmp) / "landing", Lake(Path(tmp) / "lake")
        landing.mkdir()
        path = landing / name
        write(path)
        result = load_file(path, landing, lake, now=NOW)
        with duckdb.connect() as con:
            con.execute("set timezone = 'UTC'")
            loaded = _rows(
                con,
                f"select * from read_parquet('{lake.data}/*/*.parquet', hive_partitioning = true)",
                "_source_row",
            )
            quarantined = _rows(
                con, f"select * from read_parquet('{lake.quarantine}/*.parquet')", "source_row"
            )
    return result, loaded, quarantined


def _rows(con, sql: str, key: str) -> dict[int, dict]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    by_row = {r[key]: r for r in rows}
    assert len(by_row) == len(rows), f"two rows share a {key}"
    return by_row


def _check(result: FileLoad, loaded, quarantined, verdicts: list[Verdict], shown: list) -> None:
    assert result.status == "loaded", result.message
    for number, (verdict, record) in enumerate(zip(verdicts, shown, strict=True), start=1):
        where = f"row {number}: {record!r}"
        if verdict.accepted:
            assert number in loaded, f"{where} breaks no rule but was " + (
                f"quarantined: {quarantined[number]['errors']}" if number in quarantined else "lost"
            )
            row = loaded[number]
            for name, value in verdict.row.items():
                got = row[name]
                if name == "attributes":
                    got = None if got is None else json.loads(got)
                assert got == value, f"{where}: {name} is {got!r} in the lake, expected {value!r}"
            assert row["event_date"] == verdict.row["occurred_at"].date(), where
        else:
            assert number in quarantined, f"{where} breaks {sorted(verdict.broken)} but was " + (
                "loaded" if number in loaded else "lost"
            )
            bad = quarantined[number]
            found = codes({(e["code"], e["field"]) for e in json.loads(bad["errors"])})
            broken, allowed = codes(verdict.broken), codes(verdict.broken | verdict.maybe)
            assert broken <= found, (
                f"{where}: reasons {sorted(found)}, missing {sorted(broken - found)}"
            )
            assert found <= allowed, (
                f"{where}: reasons {sorted(found)} name rules it keeps: {sorted(found - allowed)}"
            )
            assert codes({(bad["error_code"], bad["error_field"])}) <= broken, where
    assert result.records_read == len(verdicts), (result, len(verdicts))
    assert result.records_loaded == sum(v.accepted for v in verdicts)
    assert set(loaded) | set(quarantined) == set(range(1, len(verdicts) + 1))


# ---- JSON Lines, plain and gzip ---------------------------------------------------------------


# Defect found: a record's unknown field named "_mapping_error" (the LiteLLM mapping's internal
# error field) quarantined the record as source_record_unreadable instead of keeping the field.
@example(
    lines=[
        b'{"event_id": "a_0", "occurred_at": "2015-01-01T00:00:00Z", "provider": "a_0", '
        b'"model": "a_0", "prompt_tokens": 0, "completion_tokens": 0, "customer_id": "a_0", '
        b'"workspace_id": "a_0", "feature": "a_0", "_mapping_error": []}'
    ],
    crlf=False,
    final_newline=False,
    gz=False,
)
# Defect found: a line that is JSON but not an object (null, an array) was quarantined as
# not_an_object and also as missing every required field and task tag it could not have.
@example(lines=[b"null", b"[1, 2]"], crlf=False, final_newline=True, gz=True)
# Defect found: a count below -2**63 (which JSON readers hold as a double) was rounded into the
# 64-bit range and reported as negative_value rather than as not a 64-bit whole number.
@example(
    lines=[
        b'{"event_id": "e-1", "occurred_at": "2025-03-01T10:00:00Z", "provider": "p", '
        b'"model": "m", "prompt_tokens": 1, "completion_tokens": 1, "customer_id": "c", '
        b'"workspace_id": "w", "feature": "f", "reasoning_tokens": -9223372036854775809}'
    ],
    crlf=False,
    final_newline=False,
    gz=False,
)
# Defect found: a blank parent_event_id made an untagged record pass as a later attempt, while
# staging reads a blank parent as none (a first attempt without its customer, workspace, feature).
@example(
    lines=[
        b'{"event_id": "e-1", "occurred_at": "2025-03-01T10:00:00Z", "provider": "p", '
        b'"model": "m", "prompt_tokens": 1, "completion_tokens": 1, "parent_event_id": " "}'
    ],
    crlf=True,
    final_newline=True,
    gz=False,
)
# Defect found: timestamps that are not ISO-8601 were read by DuckDB's lenient cast: a bare
# date and "+25:00" loaded (the latter 25 hours off), "epoch" and "infinity" were quarantined
# as timestamp_out_of_range / future_timestamp instead of invalid_timestamp.
@example(
    lines=[
        (
            f'{{"event_id": "e-{n}", "occurred_at": "{ts}", "provider": "p", "model": "m", '
            '"prompt_tokens": 1, "completion_tokens": 1, "customer_id": "c", '
            '"workspace_id": "w", "feature": "f"}'
        ).encode()
        for n, ts in enumerate(
            [
                "2025-03-01",
                "2025-03-01T10:00:00+25:00",
                "epoch",
                "infinity",
                "2025-03-01 10:00:00 Europe/Berlin",
                "2025-03-01T10:00+0530",
                "2025-03-01T10:00:00.123456789-02",
            ]
        )
    ],
    crlf=False,
    final_newline=True,
    gz=False,
)
@given(
    lines=st.lists(json_lines(), min_size=1, max_size=25),
    crlf=st.booleans(),
    final_newline=st.booleans(),
    gz=st.booleans(),
)
def test_json_lines_load_as_the_contract_says(lines, crlf, final_newline, gz):
    result, loaded, quarantined = _load(
        "events.jsonl.gz" if gz else "events.jsonl",
        lambda path: write_jsonl(path, lines, crlf=crlf, final_newline=final_newline),
    )
    if not final_newline and lines[-1] == b"":
        lines = lines[:-1]  # the file then simply ends with a newline: no empty last line
    _check(result, loaded, quarantined, [judge_json_line(line) for line in lines], lines)


# ---- CSV ------------------------------------------------------------------------------------


@st.composite
def csv_rows(draw) -> tuple[list[str], list[dict[str, str | None]]]:
    """Records as CSV rows (cells as text, None for empty), their extra fields as extra columns."""
    rows = []
    extra = draw(st.lists(csv_extra_keys, max_size=3, unique_by=str.lower))
    for record in draw(st.lists(records(), min_size=1, max_size=20)):
        cells = {k: csv_cell(v) for k, v in record.items() if k in PROPERTIES}
        cells |= {k: draw(st.one_of(st.none(), st.text(max_size=6))) for k in extra}
        rows.append({k: (v if v != "" else None) for k, v in cells.items()})
    columns = csv_columns([{"event_id": None}, *rows])
    return columns, [{c: row.get(c) for c in columns} for row in rows]


# Defect found: a header naming a column with a double quote, or the same as a field but for
# letter case, failed the whole file (see the Parquet example).
@example(
    table=(
        [
            "event_id",
            "occurred_at",
            "provider",
            "model",
            "prompt_tokens",
            "completion_tokens",
            "customer_id",
            "workspace_id",
            "feature",
            'a"b',
            "Event_ID",
        ],
        [
            {
                "event_id": "e-1",
                "occurred_at": "2025-03-01T10:00:00Z",
                "provider": "p",
                "model": "m",
                "prompt_tokens": "1",
                "completion_tokens": " +2 ",
                "customer_id": "c",
                "workspace_id": "w",
                "feature": "f",
                'a"b': "x",
                "Event_ID": None,
            }
        ],
    )
)
@given(table=csv_rows())
def test_csv_rows_load_as_the_contract_says(table):
    columns, rows = table
    result, loaded, quarantined = _load(
        "events.csv", lambda path: path.write_text(csv_text(columns, rows), encoding="utf-8")
    )
    _check(result, loaded, quarantined, [judge_record(csv_record(row)) for row in rows], rows)


# ---- Parquet --------------------------------------------------------------------------------


# Defect found: a column name that is not a plain SQL identifier (empty, holding a double
# quote, or the same as another but for letter case) failed the whole file.
@example(
    batch=[
        {
            "event_id": "e-1",
            "occurred_at": "2025-03-01T10:00:00Z",
            "provider": "p",
            "model": "m",
            "prompt_tokens": 1,
            "completion_tokens": 1,
            "customer_id": "c",
            "workspace_id": "w",
            "feature": "f",
            "": 1,
            'a"b': "x",
            "Event_ID": "E-1",
        }
    ],
    typed_timestamps=True,
)
@given(batch=st.lists(records(), min_size=1, max_size=20), typed_timestamps=st.booleans())
def test_parquet_rows_load_as_the_contract_says(batch, typed_timestamps):
    if typed_timestamps:  # valid ISO timestamps as a timestamp column, as a writer would have them
        for name in TIMESTAMP_FIELDS:
            values = [r.get(name) for r in batch]
            if all(v is None or (isinstance(v, str) and parse_timestamp(v)) for v in values):
                for r in batch:
                    if r.get(name) is not None:
                        r[name] = parse_timestamp(r[name])
    table = parquet_table(batch)
    verdicts = []
    for row in table.to_pylist():
        instants = {
            k: row.pop(k) for k in TIMESTAMP_FIELDS if k in row and hasattr(row[k], "tzinfo")
        }
        verdicts.append(judge_record(row, instants=instants))
    result, loaded, quarantined = _load("events.parquet", lambda path: write_parquet(path, table))
    _check(result, loaded, quarantined, verdicts, table.to_pylist())
