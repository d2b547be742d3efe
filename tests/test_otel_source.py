"""OpenTelemetry GenAI spans → the span store → calls (orchestration/ingest/sources/otel*.py).

Every input is a small OTLP JSON file written here by hand (one ExportTraceServiceRequest per
line, ``intValue`` as JSON strings as the Collector writes them); every expectation is read off
those inputs. The span files are stored with ``otel.load_span_file`` and assembled with
``otel_assemble.assemble`` at a fixed clock; the tests read what reached the lake with DuckDB.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from conftest import write_jsonl

from orchestration.ingest.lake import Lake
from orchestration.ingest.sources import otel, otel_assemble

NOW = datetime(2026, 11, 21, tzinfo=UTC)
WAIT = timedelta(hours=1)
DAY_NS = int(datetime(2026, 11, 20, 10, tzinfo=UTC).timestamp()) * 1_000_000_000
SECOND_NS = 1_000_000_000


# ---------------------------------------------------------------- building OTLP JSON by hand


def trace_id(n: int) -> str:
    return f"7ace{n:028x}"


def span_id(n: int) -> str:
    return f"5a{n:014x}"


def attributes(values: dict) -> list[dict]:
    out = []
    for key, value in values.items():
        if isinstance(value, bool):
            typed = {"boolValue": value}
        elif isinstance(value, int):
            typed = {"intValue": str(value)}  # OTLP JSON writes 64-bit integers as strings
        elif isinstance(value, float):
            typed = {"doubleValue": value}
        else:
            typed = {"stringValue": value}
        out.append({"key": key, "value": typed})
    return out


def span(
    trace: int,
    sid: int,
    *,
    parent: int | None = None,
    start: int = DAY_NS,
    end: int | None = None,
    attrs: dict | None = None,
    status: dict | None = None,
    name: str = "chat",
) -> dict:
    out = {
        "traceId": trace_id(trace),
        "spanId": span_id(sid),
        "parentSpanId": span_id(parent) if parent is not None else "",
        "name": name,
        "kind": 3,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end if end is not None else start + SECOND_NS),
        "attributes": attributes(attrs or {}),
    }
    if status is not None:
        out["status"] = status
    return out


def line(*spans: dict, resource: dict | None = None) -> dict:
    """One ExportTraceServiceRequest: one resource, one scope."""
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": attributes({"service.name": "app", **(resource or {})})},
                "scopeSpans": [{"scope": {"name": "test"}, "spans": list(spans)}],
            }
        ]
    }


def genai(
    provider: str = "openai", model: str = "gpt-4o", tokens: tuple[int, int] = (100, 20), **more
) -> dict:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
        "gen_ai.usage.input_tokens": tokens[0],
        "gen_ai.usage.output_tokens": tokens[1],
        **more,
    }


TAGS = {
    "llm_margin.customer_id": "cus-root",
    "llm_margin.workspace_id": "ws-root",
    "llm_margin.feature": "support_bot",
    "user.id": "usr-root",
}


# ---------------------------------------------------------------- running and reading the lake


@pytest.fixture
def where(tmp_path: Path) -> tuple[Path, Path]:
    """(lake root, landing/otel)."""
    landing = tmp_path / "landing" / "otel"
    landing.mkdir(parents=True)
    return tmp_path / "lake", landing


def store(root: Path, path: Path, landing: Path, now: datetime = NOW) -> otel.SpanFileLoad:
    load = otel.load_span_file(path, landing, Lake(root, otel.DATASET), now=now)
    assert load.status in ("loaded", "already_loaded"), load.message
    return load


def assemble(root: Path, now: datetime = NOW) -> otel_assemble.Assembly:
    return otel_assemble.assemble(root, now=now, wait=WAIT)


def query(sql: str) -> list[dict]:
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def good(root: Path) -> list[dict]:
    pattern = (root / "usage_events" / "*" / "*.parquet").as_posix()
    return query(
        f"select *, epoch_us(occurred_at) as occurred_us from read_parquet('{pattern}', "
        "hive_partitioning = true, union_by_name = true) "
        "where event_date::varchar <> '1970-01-01' order by event_id, _ingested_at"
    )


def quarantined(root: Path) -> list[dict]:
    pattern = (root / "quarantine" / "usage_events" / "*.parquet").as_posix()
    return query(
        f"select * from read_parquet('{pattern}', union_by_name = true) "
        "order by source_file, source_row, event_id"
    )


def span_quarantine(root: Path) -> list[dict]:
    pattern = (root / "quarantine" / "otel_spans" / "*.parquet").as_posix()
    return query(
        f"select * from read_parquet('{pattern}', union_by_name = true) "
        "order by source_file, source_row, span_index"
    )


def stored_spans(root: Path) -> list[dict]:
    pattern = (root / "otel_spans" / "*" / "*.parquet").as_posix()
    return query(
        f"select * from read_parquet('{pattern}', union_by_name = true) "
        "where _source_file <> '' order by trace_id, span_id"
    )


def by_event(rows: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for row in rows:
        assert row["event_id"] not in out, f"{row['event_id']} is in the lake twice"
        out[row["event_id"]] = row
    return out


def eid(trace: int, sid: int) -> str:
    return f"{trace_id(trace)}:{span_id(sid)}"


# ---------------------------------------------------------------- 1. one call, mapped


def test_a_genai_span_under_a_tagged_root_is_one_contract_call(where):
    root, landing = where
    start = DAY_NS + 123_456_000  # a whole microsecond: the lake keeps microseconds
    end = start + 1_234 * 1_000_000
    child = span(
        1,
        2,
        parent=1,
        start=start,
        end=end,
        attrs={
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": "claude-sonnet-4",
            "gen_ai.response.model": "claude-sonnet-4-20250514",
            "gen_ai.usage.input_tokens": 1_000,
            "gen_ai.usage.output_tokens": 200,
            "gen_ai.usage.cache_read.input_tokens": 300,
            "gen_ai.usage.cache_creation.input_tokens": 100,
            "gen_ai.usage.reasoning.output_tokens": 50,
        },
    )
    parent = span(1, 1, start=start - SECOND_NS, end=end + SECOND_NS, attrs=TAGS, name="POST /ask")
    path = write_jsonl(landing / "traces-1.jsonl", [line(child, parent)])

    load = store(root, path, landing)
    assert (load.lines_read, load.spans_read, load.spans_stored, load.genai_spans) == (1, 2, 2, 1)
    assert load.reconciles
    result = assemble(root)
    assert (result.traces_assembled, result.traces_waiting, result.calls) == (1, 0, 1)
    assert result.load is not None and result.load.reconciles
    assert (result.load.records_loaded, result.load.records_quarantined) == (1, 0)

    [call] = good(root)
    assert call["event_id"] == f"{trace_id(1)}:{span_id(2)}"
    assert call["occurred_us"] == start // 1_000
    assert call["latency_ms"] == (end - start) // 1_000_000 == 1_234
    assert call["provider"] == "anthropic"
    assert call["model"] == "claude-sonnet-4-20250514"  # the response model, not the request's
    assert call["route"] == "anthropic/claude-sonnet-4-20250514"
    assert (call["prompt_tokens"], call["cached_prompt_tokens"], call["cache_write_tokens"]) == (
        1_000,
        300,
        100,
    )
    assert (call["completion_tokens"], call["reasoning_tokens"]) == (200, 50)
    assert (call["customer_id"], call["workspace_id"], call["feature"], call["user_id"]) == (
        "cus-root",
        "ws-root",
        "support_bot",
        "usr-root",
    )
    assert call["task_id"] == f"otel-trace-{trace_id(1)}"
    assert (call["attempt"], call["parent_event_id"], call["fallback_from_route"]) == (
        1,
        None,
        None,
    )
    assert call["status"] == "success"
    assert call["_source_format"] == "otlp"
    assert (call["_source_file"], call["_source_row"]) == ("otel/traces-1.jsonl", 1)
    extra = json.loads(call["attributes"])
    assert (extra["otel_trace_id"], extra["otel_span_id"]) == (trace_id(1), span_id(2))


def test_request_model_and_explicit_task_and_route_tags_are_used_when_present(where):
    root, landing = where
    only_request = span(2, 1, attrs=genai("openai", "gpt-4o-mini", **TAGS))
    tagged = span(
        3,
        1,
        attrs=genai(
            "openai", "gpt-4o", **TAGS, **{"llm_margin.task_id": "t-9", "llm_margin.route": "r-1"}
        ),
    )
    store(root, write_jsonl(landing / "a.jsonl", [line(only_request, tagged)]), landing)
    assemble(root)
    calls = by_event(good(root))
    assert calls[eid(2, 1)]["model"] == "gpt-4o-mini"
    assert calls[eid(2, 1)]["route"] == "openai/gpt-4o-mini"
    assert (calls[eid(3, 1)]["task_id"], calls[eid(3, 1)]["route"]) == ("t-9", "r-1")


# ---------------------------------------------------------------- 2-3. parents in later files


def _children_file(landing: Path) -> Path:
    """Two GenAI spans of trace 10 (each its own task) whose parent, span 1, is not here."""
    return write_jsonl(
        landing / "children.jsonl",
        [
            line(span(10, 2, parent=1, attrs=genai(**{"llm_margin.task_id": "task-a"}))),
            line(
                span(
                    10,
                    3,
                    parent=1,
                    start=DAY_NS + 2 * SECOND_NS,
                    attrs=genai(**{"llm_margin.task_id": "task-b"}),
                )
            ),
        ],
    )


def _root_file(landing: Path) -> Path:
    return write_jsonl(
        landing / "root.jsonl",
        [line(span(10, 1, start=DAY_NS - SECOND_NS, end=DAY_NS + 5 * SECOND_NS, attrs=TAGS))],
    )


def test_calls_wait_for_a_parent_in_a_later_file(where):
    root, landing = where
    store(root, _children_file(landing), landing)
    first = assemble(root)
    assert first.traces_waiting == 1 and first.traces_assembled == 0
    assert first.load is None
    assert good(root) == [] and quarantined(root) == []

    later = NOW + timedelta(minutes=5)  # well within the wait
    store(root, _root_file(landing), landing, now=later)
    second = assemble(root, now=later)
    assert (second.traces_waiting, second.traces_assembled, second.calls) == (0, 1, 2)
    calls = by_event(good(root))
    assert set(calls) == {eid(10, 2), eid(10, 3)}
    for call in calls.values():
        assert (call["customer_id"], call["workspace_id"], call["feature"]) == (
            "cus-root",
            "ws-root",
            "support_bot",
        )
    assert quarantined(root) == []


def test_after_the_wait_calls_load_without_their_parent_and_reload_when_it_comes(where):
    root, landing = where
    children = _children_file(landing)
    store(root, children, landing)
    assert assemble(root).traces_waiting == 1

    past_wait = NOW + WAIT + timedelta(minutes=1)
    done_waiting = assemble(root, now=past_wait)
    assert (done_waiting.traces_waiting, done_waiting.traces_assembled) == (0, 1)
    assert done_waiting.load is not None and done_waiting.load.records_quarantined == 2
    assert good(root) == []
    first_versions = quarantined(root)
    assert [(q["event_id"], q["error_code"]) for q in first_versions] == [
        (eid(10, 2), "missing_task_tag"),
        (eid(10, 3), "missing_task_tag"),
    ]
    # the position is the span's own: the OTLP file and its line
    assert [(q["source_file"], q["source_row"]) for q in first_versions] == [
        ("otel/children.jsonl", 1),
        ("otel/children.jsonl", 2),
    ]

    arrival = past_wait + timedelta(hours=2)
    store(root, _root_file(landing), landing, now=arrival)
    again = assemble(root, now=arrival)
    assert again.traces_assembled == 1
    assert again.load is not None and again.load.records_loaded == 2
    calls = by_event(good(root))  # one good record per event: the new version
    assert set(calls) == {eid(10, 2), eid(10, 3)}
    assert {c["customer_id"] for c in calls.values()} == {"cus-root"}
    assert {c["task_id"] for c in calls.values()} == {"task-a", "task-b"}
    assert all(
        c["_ingested_at"] > q["quarantined_at"] for c in calls.values() for q in first_versions
    )
    assert len(quarantined(root)) == 2  # the old versions stay for the audit, nothing added

    nothing_new = assemble(root, now=arrival + timedelta(hours=1))
    assert nothing_new.load is None and nothing_new.traces_waiting == 0


# ---------------------------------------------------------------- 4. exported twice


def test_a_span_exported_twice_is_one_call(where):
    root, landing = where
    exported = line(span(20, 1, attrs=genai(**TAGS)))
    other = line(span(21, 1, attrs=genai(**TAGS)))
    store(root, write_jsonl(landing / "first.jsonl", [exported]), landing)
    store(root, write_jsonl(landing / "retry.jsonl", [other, exported]), landing)
    result = assemble(root)
    assert result.calls == 2
    calls = by_event(good(root))
    assert set(calls) == {eid(20, 1), eid(21, 1)}
    assert calls[eid(20, 1)]["_source_file"] == "otel/first.jsonl"  # the first copy stored


def test_a_span_exported_again_after_assembly_adds_no_version(where):
    root, landing = where
    exported = line(span(22, 1, attrs=genai(**TAGS)))
    store(root, write_jsonl(landing / "first.jsonl", [exported]), landing)
    assert assemble(root).load.records_loaded == 1
    later = NOW + timedelta(minutes=10)
    store(root, write_jsonl(landing / "again.jsonl", [exported, exported]), landing, now=later)
    result = assemble(root, now=later)
    assert (result.calls, result.records_unchanged, result.load) == (1, 1, None)
    assert len(good(root)) == 1


def test_the_same_file_content_under_another_name_is_already_loaded(where):
    root, landing = where
    first = write_jsonl(landing / "traces-1.jsonl", [line(span(23, 1, attrs=genai(**TAGS)))])
    copy = landing / "copy-of-traces-1.jsonl"
    shutil.copy(first, copy)
    assert store(root, first, landing).status == "loaded"
    again = store(root, copy, landing)
    assert again.status == "already_loaded"
    assert again.source_file == "otel/copy-of-traces-1.jsonl"
    assert len(stored_spans(root)) == 1
    assemble(root)
    assert [c["event_id"] for c in good(root)] == [eid(23, 1)]


# ---------------------------------------------------------------- 5. retries and fallbacks


def test_retries_and_fallbacks_chain_within_a_trace(where):
    root, landing = where
    t = 30
    failed = {"code": 2, "message": "boom"}
    spans = [
        span(t, 1, start=DAY_NS, end=DAY_NS + 60 * SECOND_NS, attrs=TAGS, name="task"),
        span(
            t,
            2,
            parent=1,
            start=DAY_NS + 1 * SECOND_NS,
            attrs=genai("openai", "gpt-4o", **{"error.type": "429"}),
            status=failed,
        ),
        span(
            t,
            3,
            parent=1,
            start=DAY_NS + 3 * SECOND_NS,
            attrs=genai("openai", "gpt-4o", **{"error.type": "timeout"}),
            status=failed,
        ),
        span(t, 4, parent=1, start=DAY_NS + 5 * SECOND_NS, attrs=genai("anthropic", "claude-3")),
        span(t, 5, parent=1, start=DAY_NS + 7 * SECOND_NS, attrs=genai("openai", "gpt-4o")),
    ]
    # exported out of order, as spans end: order comes from start times, not file order
    path = write_jsonl(landing / "t.jsonl", [line(spans[4], spans[3]), line(*spans[:3])])
    store(root, path, landing)
    assemble(root)
    calls = by_event(good(root))
    got = [
        (
            calls[eid(t, s)]["attempt"],
            calls[eid(t, s)]["status"],
            calls[eid(t, s)]["parent_event_id"],
            calls[eid(t, s)]["fallback_from_route"],
        )
        for s in (2, 3, 4, 5)
    ]
    assert got == [
        (1, "rate_limited", None, None),
        (2, "timeout", eid(t, 2), None),  # a retry: same provider and model
        (3, "success", eid(t, 3), "openai/gpt-4o"),  # a fallback from the failed call's route
        (4, "success", None, None),  # after a success: no parent
    ]
    assert {c["task_id"] for c in calls.values()} == {f"otel-trace-{trace_id(t)}"}


def test_failure_statuses_from_status_code_and_error_type(where):
    root, landing = where
    cases = {
        1: ({"code": 2}, None, "error"),
        2: ({"code": "STATUS_CODE_ERROR"}, "RateLimitError", "rate_limited"),
        3: ({"code": 2}, "request timed out", "timeout"),
        4: ({"code": 1}, None, "success"),
        5: (None, "cancelled", "cancelled"),  # an error.type alone marks a failure
    }
    spans = []
    for n, (status, error, _) in cases.items():
        attrs = genai(**TAGS, **({"error.type": error} if error else {}))
        spans.append(span(40 + n, 1, attrs=attrs, status=status))
    store(root, write_jsonl(landing / "s.jsonl", [line(*spans)]), landing)
    assemble(root)
    calls = by_event(good(root))
    assert {n: calls[eid(40 + n, 1)]["status"] for n in cases} == {
        n: expected for n, (_, _, expected) in cases.items()
    }


# ---------------------------------------------------------------- 6. attribute names and values


def test_older_attribute_names_provider_names_and_service_tiers(where):
    root, landing = where
    legacy = {
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.prompt_tokens": 700,
        "gen_ai.usage.completion_tokens": 70,
        "openai.response.service_tier": "default",
        **TAGS,
    }
    both = genai("gcp.vertex_ai", "gemini-2.5-pro", **TAGS, **{"gen_ai.system": "openai"})
    cases = {
        1: legacy,
        2: both,
        3: genai("aws.bedrock", "claude-3", **TAGS),
        4: genai("azure.ai.openai", "gpt-4o", **TAGS, **{"openai.response.service_tier": "flex"}),
        5: genai("Mistral_AI", "mistral-large", **TAGS),
        6: genai(**TAGS, **{"gen_ai.openai.response.service_tier": "scale"}),
    }
    spans = [span(50 + n, 1, attrs=attrs) for n, attrs in cases.items()]
    store(root, write_jsonl(landing / "names.jsonl", [line(*spans)]), landing)
    assemble(root)
    calls = by_event(good(root))
    got = {
        n: (
            calls[eid(50 + n, 1)]["provider"],
            calls[eid(50 + n, 1)]["prompt_tokens"],
            calls[eid(50 + n, 1)]["completion_tokens"],
            calls[eid(50 + n, 1)]["service_tier"],
        )
        for n in cases
    }
    assert got == {
        1: ("openai", 700, 70, "standard"),
        2: ("google", 100, 20, None),  # gen_ai.provider.name wins over gen_ai.system
        3: ("aws-bedrock", 100, 20, None),
        4: ("azure", 100, 20, "flex"),
        5: ("mistral", 100, 20, None),
        6: ("openai", 100, 20, "priority"),  # the older attribute name, OpenAI's "scale"
    }
    assert calls[eid(52, 1)]["route"] == "google/gemini-2.5-pro"


# ---------------------------------------------------------------- 7. malformed input


def test_malformed_lines_and_spans_are_quarantined_and_the_rest_loads(where):
    root, landing = where
    good_first = line(span(60, 1, attrs=genai(**TAGS)))
    no_model = {k: v for k, v in genai(**TAGS).items() if k != "gen_ai.request.model"}
    lines = [
        json.dumps(good_first),  # 1
        json.dumps(line(span(61, 1, attrs=genai(**TAGS))))[:70],  # 2: cut short
        json.dumps({"resourceMetrics": []}),  # 3: JSON, not traces
        json.dumps(line(span(62, 1, attrs=no_model))),  # 4
        json.dumps(line(span(63, 1, attrs=genai(tokens=(100, -5), **TAGS)))),  # 5
        json.dumps(  # 6: two spans no one can identify
            line(
                {**span(64, 1, attrs=genai(**TAGS)), "spanId": "not-hex"},
                {**span(64, 2, attrs=genai(**TAGS)), "spanId": "0" * 16},
            )
        ),
        json.dumps(line(span(65, 1, attrs=genai(**TAGS)))),  # 7
    ]
    path = write_jsonl(landing / "bad.jsonl", lines)
    with open(path, "ab") as handle:  # 8: not UTF-8
        handle.write(b'{"resourceSpans": [], "x": "\xff\xfe"}\n')
    load = store(root, path, landing)
    assert load.lines_read == 8
    assert (load.spans_read, load.spans_stored, load.genai_spans) == (6, 4, 4)
    assert load.quarantine_by_reason == {
        "bad_json": 1,
        "invalid_encoding": 1,
        "missing_span_id": 2,
        "not_otlp_traces": 1,
    }
    assert load.records_quarantined == 5
    assert load.reconciles
    assert load.spans_read == load.spans_stored + load.quarantine_by_reason["missing_span_id"]

    in_store = [(q["source_file"], q["source_row"], q["error_code"]) for q in span_quarantine(root)]
    assert in_store == [
        ("otel/bad.jsonl", 2, "bad_json"),
        ("otel/bad.jsonl", 3, "not_otlp_traces"),
        ("otel/bad.jsonl", 6, "missing_span_id"),
        ("otel/bad.jsonl", 6, "missing_span_id"),
        ("otel/bad.jsonl", 8, "invalid_encoding"),
    ]

    result = assemble(root)
    assert result.load.reconciles
    assert (result.load.records_loaded, result.load.records_quarantined) == (2, 2)
    assert sorted(c["event_id"] for c in good(root)) == [eid(60, 1), eid(65, 1)]
    calls_quarantined = [
        (q["source_file"], q["source_row"], q["event_id"], q["error_code"], q["error_field"])
        for q in quarantined(root)
    ]
    assert calls_quarantined == [
        ("otel/bad.jsonl", 4, eid(62, 1), "missing_required", "model"),
        ("otel/bad.jsonl", 5, eid(63, 1), "negative_value", "completion_tokens"),
    ]


def _lines_of(raw: list[bytes], sql: str) -> list[tuple]:
    import pyarrow as pa

    with duckdb.connect() as con:
        con.register(
            "records",
            pa.table(
                {
                    "source_row": pa.array(range(1, len(raw) + 1), pa.int64()),
                    "raw_bytes": pa.array(raw, pa.large_binary()),
                }
            ),
        )
        return con.execute(
            f"select source_row, line, request::varchar, line_error from ({sql}) order by 1"
        ).fetchall()


def test_one_parse_per_line_reads_a_batch_of_json_lines_as_the_validated_parse_does():
    # every line is JSON: traces, other JSON values, a trailing comma DuckDB's parser accepts
    raw = [
        json.dumps(line(span(66, 1, attrs=genai(**TAGS)), span(66, 2, parent=1))).encode() + b"\n",
        b'{"resourceMetrics": []}\n',
        b"42\n",
        b"[1, 2]\n",
        b"null\n",
        b'{"resourceSpans": 5}\n',
        b'{"resourceSpans": [],}',
    ]
    once = _lines_of(raw, otel.lines_sql(validate=False))
    assert once == _lines_of(raw, otel.lines_sql())
    assert [row[3] for row in once] == [
        None,
        "not_otlp_traces",
        "not_an_object",
        "not_an_object",
        "not_an_object",
        "not_otlp_traces",
        None,
    ]


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        (b"\n", "empty_line"),  # the one-parse path cannot read it: validated line by line
        (b'{"resourceSpans": [\n', "bad_json"),
        (b'{"resourceSpans": [], "x": "\xff"}\n', "invalid_encoding"),  # read as null
    ],
)
def test_a_line_the_one_parse_path_cannot_read_is_named_and_the_rest_loads(where, bad_line, reason):
    root, landing = where
    path = landing / "one-bad.jsonl"
    path.write_bytes(
        json.dumps(line(span(67, 1, attrs=genai(**TAGS)))).encode()
        + b"\n"
        + bad_line
        + json.dumps(line(span(68, 1, attrs=genai(**TAGS)))).encode()
        + b"\n"
    )
    load = store(root, path, landing)
    assert (load.lines_read, load.spans_stored) == (3, 2)
    assert load.quarantine_by_reason == {reason: 1}
    assert [(q["source_row"], q["error_code"]) for q in span_quarantine(root)] == [(2, reason)]
    assert sorted(s["trace_id"] for s in stored_spans(root)) == [trace_id(67), trace_id(68)]


def test_a_file_that_is_not_otlp_json_is_not_read(where):
    root, landing = where
    path = landing / "traces.pb"
    path.write_bytes(b"\x0a\x00")
    load = otel.load_span_file(path, landing, Lake(root, otel.DATASET), now=NOW)
    assert load.status == "unsupported"
    assert stored_spans(root) == []


# ---------------------------------------------------------------- 8. attribution precedence


def test_attribution_precedence_span_then_nearest_ancestor_then_resource(where):
    root, landing = where
    t, lone = 70, 71
    resource = {
        "llm_margin.customer_id": "cus-res",
        "llm_margin.workspace_id": "ws-res",
        "llm_margin.feature": "feat-res",
    }
    grandparent = span(
        t,
        1,
        attrs={
            "llm_margin.customer_id": "cus-grand",
            "llm_margin.workspace_id": "ws-grand",
            "user.id": "usr-grand",
        },
        name="request",
    )
    parent = span(t, 2, parent=1, attrs={"llm_margin.customer_id": "cus-parent"}, name="agent")
    own = span(
        t,
        3,
        parent=2,
        attrs=genai(**{"llm_margin.customer_id": "cus-own", "enduser.id": "end-own"}),
    )
    inherits = span(t, 4, parent=2, start=DAY_NS + 2 * SECOND_NS, attrs=genai())
    alone = span(lone, 1, attrs=genai(**{"enduser.id": "end-lone"}))
    path = write_jsonl(
        landing / "attr.jsonl", [line(own, inherits, parent, grandparent, alone, resource=resource)]
    )
    store(root, path, landing)
    assemble(root)
    calls = by_event(good(root))

    def tags(event_id: str) -> tuple:
        c = calls[event_id]
        return (c["customer_id"], c["workspace_id"], c["feature"], c["user_id"])

    # the span's own tag beats its ancestors'; user.id anywhere in the chain beats enduser.id
    assert tags(eid(t, 3)) == ("cus-own", "ws-grand", "feat-res", "usr-grand")
    # the parent beats the grandparent; the resource fills what no span in the chain has
    assert tags(eid(t, 4)) == ("cus-parent", "ws-grand", "feat-res", "usr-grand")
    # no ancestors: the resource's tags, and enduser.id when there is no user.id
    assert tags(eid(lone, 1)) == ("cus-res", "ws-res", "feat-res", "end-lone")


# ---------------------------------------------------------------- 9. idempotency


def test_assembling_again_sends_only_what_changed(where):
    root, landing = where
    old = [
        line(span(80, 1, attrs=TAGS, name="root")),
        line(span(80, 2, parent=1, attrs=genai())),
        line(span(80, 3, parent=1, start=DAY_NS + 2 * SECOND_NS, attrs=genai())),
    ]
    store(root, write_jsonl(landing / "old.jsonl", old), landing)
    first = assemble(root)
    assert first.load.records_loaded == 2

    idle = assemble(root, now=NOW + timedelta(minutes=1))
    assert (idle.span_files, idle.calls, idle.load) == (0, 0, None)

    later = NOW + timedelta(minutes=2)
    new = line(span(81, 1, attrs=genai(**TAGS)))
    store(root, write_jsonl(landing / "new.jsonl", [new]), landing, now=later)
    unrelated = assemble(root, now=later)
    assert unrelated.load.records_read == 1
    assert unrelated.records_unchanged == unrelated.calls - 1

    # a file that re-exports a span of the old trace makes it reconsidered: unchanged, not sent
    latest = later + timedelta(minutes=1)
    mixed = [old[1], line(span(82, 1, attrs=genai(**TAGS)))]
    store(root, write_jsonl(landing / "mixed.jsonl", mixed), landing, now=latest)
    reconsidered = assemble(root, now=latest)
    assert reconsidered.calls == 3  # the old trace's two calls and the new one
    assert reconsidered.records_unchanged == 2
    assert reconsidered.load.records_read == 1

    versions = good(root)
    assert sorted(c["event_id"] for c in versions) == sorted(
        [eid(80, 2), eid(80, 3), eid(81, 1), eid(82, 1)]
    )
    old_versions = {c["_ingested_at"] for c in versions if c["event_id"].startswith(trace_id(80))}
    assert len(old_versions) == 1  # both from the first assembly
    assert quarantined(root) == []


# ---------------------------------------------------------------- 10. gzip


def test_a_gzipped_otlp_file_is_read(where):
    root, landing = where
    path = write_jsonl(
        landing / "traces.json.gz", [line(span(90, 1, attrs=genai(**TAGS)))], compress=True
    )
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    load = store(root, path, landing)
    assert (load.status, load.spans_stored, load.genai_spans) == ("loaded", 1, 1)
    assemble(root)
    [call] = good(root)
    assert (call["event_id"], call["_source_file"]) == (eid(90, 1), "otel/traces.json.gz")
