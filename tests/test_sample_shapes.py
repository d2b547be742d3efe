"""The generator's other source shapes: the same traffic as OTLP trace files and LiteLLM spend logs.

Every expectation is derived from ``final_records`` (or the truth), never copied from output.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from orchestration.contract import field_names
from orchestration.paths import DATA_DIR_ENV
from sample_data import generate
from sample_data import shapes as sh

SMALL = {"events": 2000, "days": 3, "customers": 5}
OTLP = {"spans_per_line": 4, "lines_per_file": 5, "gzip_every": 2}
HEX32, HEX16 = re.compile(r"[0-9a-f]{32}"), re.compile(r"[0-9a-f]{16}")
VALUE_KINDS = {"stringValue", "intValue", "doubleValue", "boolValue"}
INPUT = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
OUTPUT = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("shapes") / "data"
    generate(root, seed=11, progress=False, traces_dir=root.parent / "no-traces", **SMALL)
    return root


@pytest.fixture(scope="module")
def records(data: Path) -> pd.DataFrame:
    return sh.final_records(data)


@pytest.fixture(scope="module")
def keys(records: pd.DataFrame) -> pd.Series:
    return sh.task_keys(records)


@pytest.fixture(scope="module")
def otel(records: pd.DataFrame, tmp_path_factory) -> tuple[sh.OtlpWritten, list[dict]]:
    out = tmp_path_factory.mktemp("otel")
    written = sh.write_otlp(records, out, faults=True, seed=5, **OTLP)
    return written, _otlp_lines(written.files)


def _otlp_lines(files: list[Path]) -> list[dict]:
    """Every physical line: file, line number, text and the parsed request (None: not JSON)."""
    out = []
    for path in files:
        data = path.read_bytes()
        text = (gzip.decompress(data) if path.name.endswith(".gz") else data).decode("utf-8")
        assert text.endswith("\n")
        for number, line in enumerate(text[:-1].split("\n"), start=1):
            try:
                parsed = json.loads(line)
            except json.JSONDecodeError:
                parsed = None
            out.append({"file": path.name, "line": number, "text": line, "request": parsed})
    return out


def _spans(lines: list[dict], skip: set[tuple[str, int]] = frozenset()) -> list[dict]:
    return [
        span
        for line in lines
        if line["request"] is not None and (line["file"], line["line"]) not in skip
        for resource in line["request"]["resourceSpans"]
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
    ]


def _attrs(span: dict) -> dict:
    out = {}
    for attribute in span["attributes"]:
        ((kind, value),) = attribute["value"].items()
        out[attribute["key"]] = int(value) if kind == "intValue" else value
    return out


def _real_genai_spans(written: sh.OtlpWritten, lines: list[dict]) -> list[dict]:
    """GenAI spans of the data: the duplicated line and planted spans left out."""
    dup = {(d["file"], d["line"]) for d in written.faults["duplicate_line"]}
    planted = {
        d["span_id"]
        for name in ("missing_model", "negative_output_tokens")
        for d in written.faults[name]
    }
    return [s for s in _spans(lines, dup) if "parentSpanId" in s and s["spanId"] not in planted]


def _ints(series: pd.Series) -> int:
    return int(series.fillna(0).sum())


# -- final records ------------------------------------------------------------------------------


def test_final_records_one_valid_final_version_per_event(data: Path, records: pd.DataFrame):
    truth = pq.read_table(data / "truth" / "events.parquet").to_pandas()
    valid = truth[truth["kind"] != "malformed"]
    incomplete = set(truth.loc[truth["is_incomplete_stream"], "event_id"])
    assert list(records.columns) == list(field_names())
    assert records["event_id"].is_unique
    assert set(records["event_id"]) == set(valid["event_id"]) - incomplete
    assert records.attrs["incomplete_streams"] == len(incomplete) > 0
    assert set(records.attrs["incomplete_event_ids"]) == incomplete
    assert not (records["status"] == "in_progress").any()
    assert records["prompt_tokens"].notna().all() and records["completion_tokens"].notna().all()
    assert str(records["occurred_at"].dtype) == "datetime64[ns, UTC]"
    assert str(records["prompt_tokens"].dtype) == "Int64"
    # a stream's final record, not its start: the truth's per-task tokens count finals only
    tasks = pq.read_table(data / "truth" / "tasks.parquet").to_pandas()
    assert _ints(records["prompt_tokens"]) == int(tasks["prompt_tokens"].sum())
    assert _ints(records["completion_tokens"]) == int(tasks["completion_tokens"].sum())
    streams = set(truth.loc[truth["kind"] == "stream_final", "event_id"])
    assert streams and streams <= set(records["event_id"])


def test_final_records_occurred_at_matches_truth(data: Path, records: pd.DataFrame):
    truth = pq.read_table(data / "truth" / "events.parquet").to_pandas()
    truth = truth[truth["kind"] != "malformed"].drop_duplicates("event_id")
    merged = records[["event_id", "occurred_at"]].merge(truth, on="event_id", suffixes=("", "_t"))
    assert len(merged) == len(records)
    assert (merged["occurred_at"] == merged["occurred_at_t"]).all()


def test_task_keys_follow_parent_chains(records: pd.DataFrame, keys: pd.Series):
    own = records["task_id"].notna()
    assert (keys[own] == records.loc[own, "task_id"]).all()
    chained = records["task_id"].isna() & records["parent_event_id"].isin(records["event_id"])
    assert chained.any()
    parent_key = dict(zip(records["event_id"], keys, strict=True))
    for i in records.index[chained]:
        assert keys[i] == parent_key[records.at[i, "parent_event_id"]]


# -- OTLP ---------------------------------------------------------------------------------------


def test_otlp_lines_follow_the_file_exporter_structure(otel):
    written, lines = otel
    names = [p.name for p in written.files]
    assert names == sorted(names)
    assert all(re.fullmatch(r"traces-\d{6}\.jsonl(\.gz)?", n) for n in names)
    assert any(n.endswith(".gz") for n in names) and any(n.endswith(".jsonl") for n in names)
    truncated = {(d["file"], d["line"]) for d in written.faults["truncated_line"]}
    assert {(x["file"], x["line"]) for x in lines if x["request"] is None} == truncated
    for line in lines:
        request = line["request"]
        if request is None:
            continue
        (resource,) = request["resourceSpans"]
        assert resource["resource"]["attributes"] == [
            {"key": "service.name", "value": {"stringValue": "sample-app"}}
        ]
        (scope,) = resource["scopeSpans"]
        assert scope["scope"] == {
            "name": "opentelemetry.instrumentation.openai",
            "version": "0.40.0",
        }
        assert scope["spans"]
        for span in scope["spans"]:
            assert HEX32.fullmatch(span["traceId"]) and HEX16.fullmatch(span["spanId"])
            assert int(span["startTimeUnixNano"]) <= int(span["endTimeUnixNano"])
            assert isinstance(span["startTimeUnixNano"], str)
            for attribute in span["attributes"]:
                ((kind, value),) = attribute["value"].items()
                assert kind in VALUE_KINDS
                if kind == "intValue":
                    assert isinstance(value, str) and re.fullmatch(r"-?\d+", value)
            if "parentSpanId" in span:
                assert HEX16.fullmatch(span["parentSpanId"]) and span["kind"] == 3
                assert _attrs(span)["gen_ai.operation.name"] == "chat"
                status = span["status"]
                assert status == {} or (status["code"] == 2 and status["message"])
            else:
                assert span["name"] == "handle task" and span["status"] == {}


def test_otlp_every_record_once_every_task_one_root(otel, records, keys):
    written, lines = otel
    spans = _real_genai_spans(written, lines)
    assert Counter(s["spanId"] for s in spans) == Counter(map(sh.span_id, records["event_id"]))
    assert written.genai_spans == len(records)
    dup = {(d["file"], d["line"]) for d in written.faults["duplicate_line"]}
    roots = [s for s in _spans(lines, dup) if "parentSpanId" not in s]
    assert len(roots) == written.root_spans == keys.nunique()
    assert Counter(r["traceId"] for r in roots) == Counter(map(sh.trace_id, keys.unique()))
    root_of = {r["traceId"]: r["spanId"] for r in roots}
    assert all(s["parentSpanId"] == root_of[s["traceId"]] for s in spans)
    # attempts per task, and each record in its task's trace
    by_event = dict(zip(map(sh.span_id, records["event_id"]), keys, strict=True))
    assert all(s["traceId"] == sh.trace_id(by_event[s["spanId"]]) for s in spans)
    assert sorted(Counter(s["traceId"] for s in spans).values()) == sorted(
        keys.value_counts().tolist()
    )
    # the roots name exactly the contract's task ids
    named = {_attrs(r).get("llm_margin.task_id") for r in roots} - {None}
    assert named == set(records["task_id"].dropna())


def test_otlp_tokens_times_and_tags_equal_final_records(otel, records, keys):
    written, lines = otel
    spans = _real_genai_spans(written, lines)
    attrs = [_attrs(s) for s in spans]

    def total(names: tuple[str, ...]) -> int:
        return sum(next(a[n] for n in names if n in a) for a in attrs)

    assert total(INPUT) == _ints(records["prompt_tokens"])
    assert total(OUTPUT) == _ints(records["completion_tokens"])
    for key, column in (
        ("gen_ai.usage.cache_read.input_tokens", "cached_prompt_tokens"),
        ("gen_ai.usage.cache_creation.input_tokens", "cache_write_tokens"),
        ("gen_ai.usage.reasoning.output_tokens", "reasoning_tokens"),
    ):
        assert sum(a.get(key, 0) for a in attrs) == _ints(records[column])
        assert sum(key in a for a in attrs) == int(records[column].notna().sum())
    # both spellings, the older on whole traces
    legacy = {s["traceId"] for s, a in zip(spans, attrs, strict=True) if "gen_ai.system" in a}
    modern = {
        s["traceId"] for s, a in zip(spans, attrs, strict=True) if "gen_ai.provider.name" in a
    }
    assert legacy and modern and not legacy & modern
    assert legacy == {sh.trace_id(k) for k in written.legacy_task_keys}
    # times to the nanosecond, status and error types
    by_span = {sh.span_id(e): i for i, e in enumerate(records["event_id"])}
    errors = Counter()
    for span, a in zip(spans, attrs, strict=True):
        r = records.iloc[by_span[span["spanId"]]]
        start = int(span["startTimeUnixNano"])
        assert start == r["occurred_at"].value
        assert int(span["endTimeUnixNano"]) - start == int(r["latency_ms"]) * 1_000_000
        assert a["gen_ai.request.model"] == r["model"] and span["name"] == f"chat {r['model']}"
        assert (span["status"] == {}) == (r["status"] == "success")
        errors[a.get("error.type")] += 1
    error_type = {
        "timeout": "timeout",
        "rate_limited": "429",
        "cancelled": "cancelled",
        "invalid_output": "invalid_output",
        "error": "500",
        "success": None,
    }
    assert errors == Counter(error_type[status] for status in records["status"])
    # root spans: the first attempt's tags, or those of the stream that opened the task and
    # never ended (the app knew its customer before that call)
    unfinished = records.attrs["unfinished_task_tags"]
    dup = {(d["file"], d["line"]) for d in written.faults["duplicate_line"]}
    roots = {r["traceId"]: _attrs(r) for r in _spans(lines, dup) if "parentSpanId" not in r}
    ordered = records.assign(key=keys, n=records["attempt"].fillna(1)).sort_values(
        ["occurred_at", "n", "event_id"]
    )
    for key, first in ordered.groupby("key", sort=False).head(1).set_index("key").iterrows():
        root = roots[sh.trace_id(key)]
        opened = unfinished.get(key)
        if opened is not None and opened[0] <= first["occurred_at"].value:
            first = {**first.to_dict(), **opened[1]}
        assert root.get("llm_margin.customer_id") == first["customer_id"]
        assert root.get("llm_margin.feature") == first["feature"]
        assert root.get("user.id") == first["user_id"]


def test_otlp_root_spans_export_after_their_children(otel):
    written, lines = otel
    files = {p.name: n for n, p in enumerate(written.files)}
    where: dict[str, int] = {}
    for line in lines:
        if line["request"] is not None:
            for span in _spans([line]):
                where.setdefault(span["spanId"], files[line["file"]])
    spans = _real_genai_spans(written, lines)
    assert all(where[s["parentSpanId"]] >= where[s["spanId"]] for s in spans)
    assert any(where[s["parentSpanId"]] > where[s["spanId"]] for s in spans)


def test_otlp_same_input_same_bytes(records, otel, tmp_path):
    written, _ = otel
    again = sh.write_otlp(records, tmp_path, faults=True, seed=5, **OTLP)
    assert [p.name for p in again.files] == [p.name for p in written.files]
    assert all(
        a.read_bytes() == b.read_bytes() for a, b in zip(again.files, written.files, strict=True)
    )


def test_otlp_faults_where_reported(otel):
    written, lines = otel
    at = {(x["file"], x["line"]): x for x in lines}
    assert set(written.faults) == {
        "truncated_line",
        "missing_model",
        "negative_output_tokens",
        "duplicate_line",
    }
    (cut,) = written.faults["truncated_line"]
    text = at[(cut["file"], cut["line"])]["text"]
    assert at[(cut["file"], cut["line"])]["request"] is None
    assert at[(cut["file"], cut["line"] + 1)]["text"].startswith(text)
    (dup,) = written.faults["duplicate_line"]
    assert dup["duplicate_of_line"] == dup["line"] - 1
    assert at[(dup["file"], dup["line"])]["text"] == at[(dup["file"], dup["line"] - 1)]["text"]
    for name in ("missing_model", "negative_output_tokens"):
        (fault,) = written.faults[name]
        spans = [
            s
            for s in _spans([at[(fault["file"], fault["line"])]])
            if s["spanId"] == fault["span_id"]
        ]
        assert len(spans) == 1 and spans[0]["traceId"] == fault["trace_id"]
        a = _attrs(spans[0])
        if name == "missing_model":
            assert not {"gen_ai.request.model", "gen_ai.response.model"} & set(a)
        else:
            assert a["gen_ai.usage.output_tokens"] == fault["value"] < 0


# -- LiteLLM ------------------------------------------------------------------------------------


def _read_litellm(files: list[Path]) -> list[tuple[str, int, dict]]:
    out = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".csv":
            rows = list(csv.DictReader(io.StringIO(text, newline="")))
        else:
            rows = [json.loads(line) for line in text.splitlines()]
        out += [(path.name, n, row) for n, row in enumerate(rows, start=1)]
    return out


def test_litellm_rows_equal_final_records(records: pd.DataFrame):
    rows = sh.litellm_rows(records)
    assert [r["request_id"] for r in rows] != [] and Counter(
        r["request_id"] for r in rows
    ) == Counter(records["event_id"])
    assert sum(r["prompt_tokens"] for r in rows) == _ints(records["prompt_tokens"])
    assert sum(r["completion_tokens"] for r in rows) == _ints(records["completion_tokens"])
    assert all(r["total_tokens"] == r["prompt_tokens"] + r["completion_tokens"] for r in rows)
    cached = sum(r["metadata"]["usage_object"]["cache_read_input_tokens"] or 0 for r in rows)
    assert cached == _ints(records["cached_prompt_tokens"])
    by_id = records.set_index("event_id")
    for r in rows:
        rec = by_id.loc[r["request_id"]]
        tags = r["metadata"]["spend_logs_metadata"]
        # a retry without tags stays without tags: never the task's tags copied onto it
        assert tags["customer_id"] == (None if pd.isna(rec["customer_id"]) else rec["customer_id"])
        assert r["end_user"] == tags["customer_id"] and r["team_id"] == tags["workspace_id"]
        assert r["session_id"] == (None if pd.isna(rec["task_id"]) else rec["task_id"])
        assert (r["status"] == "success") == (rec["status"] == "success")
        assert ("error_information" in r["metadata"]) == (r["status"] == "failure")
        rate = sh.LITELLM_FLAT_USD_PER_MTOK.get(rec["model"], 0.0)  # unlisted (unpriced): 0
        assert r["spend"] == pytest.approx(
            (rec["prompt_tokens"] + rec["completion_tokens"]) * rate / 1e6
        )
        assert r["startTime"] == rec["occurred_at"].tz_localize(None).to_pydatetime()
    assert any(r["metadata"]["spend_logs_metadata"]["customer_id"] is None for r in rows)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_litellm_files_and_faults(records: pd.DataFrame, tmp_path: Path, fmt: str):
    written = sh.write_litellm(records, tmp_path, fmt=fmt, rows_per_file=400, faults=True, seed=3)
    assert [p.name for p in written.files] == [
        f"spend_logs-{n:06d}.{fmt}" for n in range(1, len(written.files) + 1)
    ]
    assert len(written.files) == -(-len(records) // 400)
    read = _read_litellm(written.files)
    planted = {(d["file"], d["row"]): name for name, ds in written.faults.items() for d in ds}
    assert set(written.faults) == {"broken_metadata", "negative_completion_tokens", "missing_model"}
    real = [row for f, n, row in read if (f, n) not in planted]
    assert Counter(r["request_id"] for r in real) == Counter(records["event_id"])
    assert sum(int(r["prompt_tokens"]) for r in real) == _ints(records["prompt_tokens"])
    assert sum(int(r["completion_tokens"]) for r in real) == _ints(records["completion_tokens"])
    for r in real:
        metadata = json.loads(r["metadata"]) if fmt == "csv" else r["metadata"]
        tags = json.loads(r["request_tags"]) if fmt == "csv" else r["request_tags"]
        assert metadata["usage_object"]["prompt_tokens"] == int(r["prompt_tokens"])
        assert tags[-1] == "env:prod"
    rows = {(f, n): row for f, n, row in read}
    for (file, n), name in planted.items():
        row = rows[(file, n)]
        assert row["request_id"].startswith("fault_")
        if name == "broken_metadata":
            assert isinstance(row["metadata"], str)
            with pytest.raises(json.JSONDecodeError):
                json.loads(row["metadata"])
        elif name == "negative_completion_tokens":
            assert int(row["completion_tokens"]) < 0
        else:
            assert not row["model"]
    again = sh.write_litellm(
        records, tmp_path / "again", fmt=fmt, rows_per_file=400, faults=True, seed=3
    )
    assert all(
        a.read_bytes() == b.read_bytes() for a, b in zip(again.files, written.files, strict=True)
    )


# -- the CLI ------------------------------------------------------------------------------------


def test_cli_generate_shape_litellm(tmp_path: Path, monkeypatch):
    from orchestration import cli

    root = tmp_path / "data"
    monkeypatch.setenv(DATA_DIR_ENV, str(root))
    args = ["--events", "600", "--days", "2", "--customers", "3", "--seed", "4", "--quiet"]
    assert cli.main(["generate", "--shape", "litellm", *args]) == 0
    landing = root / "landing"
    assert not any((landing / "usage_events").iterdir())
    assert sorted(p.name for p in (landing / "litellm").iterdir()) == ["spend_logs-000001.jsonl"]
    assert (landing / "stripe" / "customers-page-1.json").exists()
    assert any((landing / "provider_invoices").iterdir())
    about = json.loads((root / "truth" / "shape.json").read_text())
    assert about["shape"] == "litellm" and about["files"] == ["spend_logs-000001.jsonl"]
    assert (root / "truth" / "events.parquet").exists()
    rows = _read_litellm([landing / "litellm" / "spend_logs-000001.jsonl"])
    assert len(rows) == about["records"] + sum(len(v) for v in about["faults"].values())
    # a second run would mix two data sets
    assert cli.main(["generate", "--shape", "otel", *args]) == 2
