"""JSON Lines records are JSON as RFC 8259 writes it, whatever DuckDB's reader takes besides.

docs/usage-events.md: `bad_json` is "the line is not valid JSON: `NaN`, `Infinity` and trailing
commas are not JSON, and a field named twice is refused". DuckDB's ``json_valid`` accepts the
first three, and reads the first value of a repeated key where Python's ``json`` (and most
readers) read the last: the same line would be billed differently by two readers. The oracle is
Python's ``json`` made strict (no NaN or Infinity constants, top-level keys unique), which
refuses trailing commas itself; a line it accepts must load, a line it refuses must be
quarantined as ``bad_json`` alone.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from hypothesis import example, given
from hypothesis import strategies as st

from orchestration.ingest.lake import Lake
from orchestration.ingest.usage_events import load_file

NOW = datetime(2025, 3, 2, tzinfo=UTC)
BASE = (
    '"event_id": "e-{n}", "occurred_at": "2025-03-01T10:00:00Z", "provider": "openai", '
    '"model": "gpt-4o", "customer_id": "c", "workspace_id": "w", "feature": "inference", '
    '"prompt_tokens": 10, "completion_tokens": 5'
)
# What is put after the base fields: a well-formed tail, or one of the leniencies.
TAILS = [
    "",
    ', "note": "NaN, Infinity, [1,] {a,}"',  # the words inside a string are text
    ', "tags": ["nan", "inf"], "x": {"a": [1, 2]}',
    ', "x": {"a": 1, "a": 2}',  # a repeated key inside an unknown field's object: kept as is
    ', "score": NaN',
    ', "score": -Infinity',
    ', "score": Infinity',
    ', "score": nan',
    ', "cached_tokens": NaN',
    ', "x": [1, 2,]',
    ', "x": {"a": 1,}',
    ",",
    ' , "model": "gpt-4o-mini"',  # model named twice
    ', "prompt_tokens": 10',  # the same value twice is still a field named twice
    ', "score": 1, "score": 2',
]


def _strict(text: str) -> bool:
    def no_constant(name):
        raise ValueError(name)

    def unique(pairs):
        keys = [k for k, _ in pairs]
        return {"__dup__": True} if len(keys) != len(set(keys)) else dict(pairs)

    try:
        record = json.loads(text, parse_constant=no_constant)
    except ValueError:
        return False
    top = json.loads(text, object_pairs_hook=lambda pairs: pairs)
    return isinstance(record, dict) and "__dup__" not in unique(top)


@example(TAILS)  # every case, in every run
@given(st.lists(st.sampled_from(TAILS), min_size=1, max_size=len(TAILS)))
def test_json_lines_are_read_as_rfc_8259_json(tails):
    lines = ["{" + BASE.format(n=n) + tail + "}" for n, tail in enumerate(tails)]
    with tempfile.TemporaryDirectory() as tmp:
        landing, lake = Path(tmp) / "landing", Lake(Path(tmp) / "lake")
        landing.mkdir()
        (landing / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = load_file(landing / "events.jsonl", landing, lake, now=NOW)
        with duckdb.connect() as con:
            loaded = {
                row[0]: row[1:]
                for row in con.execute(
                    "select _source_row, model, prompt_tokens from "
                    f"read_parquet('{lake.data}/*/*.parquet', hive_partitioning = true)"
                ).fetchall()
            }
            quarantined: dict[int, set[str]] = {}
            for row, errors in con.execute(
                f"select source_row, errors from read_parquet('{lake.quarantine}/*.parquet')"
            ).fetchall():
                quarantined[row] = {e["code"] for e in json.loads(errors)}
    assert result.records_read == len(lines)
    for number, line in enumerate(lines, start=1):
        if _strict(line):
            assert number not in quarantined, (line, quarantined.get(number))
            assert loaded[number] == ("gpt-4o", 10), line
        else:
            assert number not in loaded, line
            assert quarantined.get(number) == {"bad_json"}, line
