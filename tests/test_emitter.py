"""llm_margin_emit against a local OpenAI/Anthropic-compatible server: what it writes lands as
valid contract records the project's own loader accepts, and it never fails the app's call."""

from __future__ import annotations

import asyncio
import contextvars
import errno
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest

import llm_margin_emit as lme
from llm_margin_emit import _writer
from orchestration.ingest.lake import Lake
from orchestration.ingest.usage_events import load_file
from orchestration.paths import PROJECT_ROOT

try:
    import httpx
except ImportError:  # the project's environment has the API-compatible fork (genai-prices needs it)
    httpx = pytest.importorskip("httpx2")

SCHEMA = json.loads(
    (PROJECT_ROOT / "orchestration" / "contract" / "usage_event.v1.schema.json").read_text()
)
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)
TAGS = {"customer_id": "cus_42", "workspace_id": "ws_7", "feature": "support_agent"}
OPENAI_USAGE = {
    "prompt_tokens": 1200,
    "completion_tokens": 300,
    "total_tokens": 1500,
    "prompt_tokens_details": {"cached_tokens": 1024},
    "completion_tokens_details": {"reasoning_tokens": 128},
}
ANTHROPIC_USAGE = {
    "input_tokens": 100,
    "cache_creation_input_tokens": 200,
    "cache_read_input_tokens": 3000,
    "output_tokens": 150,
    "service_tier": "standard",
}


# -- a local OpenAI/Anthropic-compatible server ---------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _send(self, code: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, events: list[bytes], stop_after: int | None = None) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for event in events:
            self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        if self.headers.get("x-test-sleep"):
            time.sleep(float(self.headers["x-test-sleep"]))
        forced = int(self.headers.get("x-test-status") or 0)
        model = body.get("model", "")
        if self.path == "/v1/chat/completions":
            if forced:
                kind = "rate_limit_error" if forced == 429 else "server_error"
                return self._send(forced, {"error": {"message": "no", "type": kind}})
            answer = "gpt-4o-2024-08-06" if model == "gpt-4o" else model
            if body.get("stream"):
                with_usage = (body.get("stream_options") or {}).get("include_usage")
                chunks = [
                    {
                        "id": "c1",
                        "model": answer,
                        "choices": [{"index": 0, "delta": {"content": word}}],
                        "usage": None,
                    }
                    for word in ("Hello", " there", "!")
                ]
                if with_usage:
                    chunks.append(
                        {"id": "c1", "model": answer, "choices": [], "usage": OPENAI_USAGE}
                    )
                events = [b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks]
                return self._stream(events + [b"data: [DONE]\n\n"])
            return self._send(
                200,
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "model": answer,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}}],
                    "usage": OPENAI_USAGE,
                    "service_tier": body.get("service_tier", "default"),
                },
            )
        if self.path == "/v1/messages":
            if forced:
                return self._send(forced, {"type": "error", "error": {"type": "overloaded_error"}})
            if body.get("stream"):
                start_usage = {**ANTHROPIC_USAGE, "output_tokens": 1}
                events = [
                    (
                        "message_start",
                        {
                            "type": "message_start",
                            "message": {"model": model, "usage": start_usage},
                        },
                    ),
                    (
                        "content_block_delta",
                        {"type": "content_block_delta", "delta": {"text": "Hi"}},
                    ),
                    ("message_delta", {"type": "message_delta", "usage": {"output_tokens": 150}}),
                    ("message_stop", {"type": "message_stop"}),
                ]
                return self._stream(
                    [
                        f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
                        for name, data in events
                    ]
                )
            return self._send(
                200,
                {
                    "id": "msg_1",
                    "type": "message",
                    "model": model,
                    "content": [{"type": "text", "text": "Hi"}],
                    "usage": ANTHROPIC_USAGE,
                },
            )
        return self._send(404, {"error": "not found"})


@pytest.fixture(scope="module")
def base_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture
def landing(tmp_path) -> Path:
    return tmp_path / "landing" / "usage_events"


@pytest.fixture
def emitter(landing):
    em = lme.Emitter(landing / "emitter")
    yield em
    em.close()


@pytest.fixture
def http(emitter):
    with httpx.Client(transport=lme.EmitTransport(emitter=emitter), timeout=5) as client:
        yield client


def chat(http, base_url, model="gpt-4o", status=None, **body):
    headers = {"x-test-status": str(status)} if status else {}
    # the prompt comes first and quotes a "model" key: the emitter must still find the real one
    payload = {"messages": [{"role": "user", "content": 'say "model": "x"'}], "model": model}
    return http.post(f"{base_url}/chat/completions", json={**payload, **body}, headers=headers)


def messages(http, base_url, model="claude-sonnet-4-20250514", status=None, **body):
    headers = {"x-test-status": str(status)} if status else {}
    payload = {"model": model, "max_tokens": 256, "messages": [{"role": "user", "content": "hi"}]}
    return http.post(f"{base_url}/messages", json={**payload, **body}, headers=headers)


def landed(landing: Path) -> list[dict]:
    """Every record in the landed files, in file and line order; no file is left unlanded."""
    assert not list(landing.rglob("*.part")), "a .part file was left behind"
    files = sorted(landing.rglob("*.jsonl"))
    return [json.loads(line) for f in files for line in f.read_text().splitlines()]


def assert_loadable(landing: Path, lake_root: Path) -> int:
    """Each record validates against the JSON Schema; the real loader loads them all."""
    total = 0
    for path in sorted(landing.rglob("*.jsonl")):
        lines = path.read_text().splitlines()
        for line in lines:
            VALIDATOR.validate(json.loads(line))
        result = load_file(path, landing, Lake(lake_root))
        assert result.status == "loaded", result.message
        assert result.records_quarantined == 0, result.quarantine_by_reason
        assert result.records_loaded == len(lines)
        total += len(lines)
    return total


# -- the tests ---------------------------------------------------------------------------------------


def test_a_call_lands_as_a_valid_jsonl_record(http, base_url, emitter, landing, tmp_path):
    with lme.attribution(**TAGS, user_id="usr_3") as task:
        response = chat(http, base_url)
    assert response.status_code == 200 and response.json()["choices"][0]["message"]["content"]
    assert emitter.flush()

    files = list(landing.rglob("*"))
    assert all(f.is_dir() or f.name.endswith(".jsonl") for f in files), files
    [rec] = landed(landing)
    assert rec["task_id"] == task.task_id and rec["attempt"] == 1 and "parent_event_id" not in rec
    assert {k: rec[k] for k in TAGS} == TAGS and rec["user_id"] == "usr_3"
    assert rec["provider"] == "openai" and rec["model"] == "gpt-4o-2024-08-06"
    assert rec["requested_model"] == "gpt-4o" and rec["route"] == "openai/gpt-4o"
    assert (rec["prompt_tokens"], rec["cached_prompt_tokens"]) == (1200, 1024)
    assert (rec["completion_tokens"], rec["reasoning_tokens"]) == (300, 128)
    assert rec["service_tier"] == "standard" and rec["status"] == "success"
    assert rec["occurred_at"].endswith("Z") and rec["emitted_at"] > rec["occurred_at"]
    assert isinstance(rec["latency_ms"], int) and "outcome" not in rec
    assert assert_loadable(landing, tmp_path / "lake") == 1
    assert emitter.stats()["written"] == 1 and emitter.stats()["dropped"] == 0


def test_retry_after_429_is_attempt_2_of_the_same_task(http, base_url, emitter, landing, tmp_path):
    with lme.attribution(**TAGS, task_id="task-9"):
        assert chat(http, base_url, status=429).status_code == 429
        assert chat(http, base_url).status_code == 200
    emitter.close()
    first, second = landed(landing)
    assert first["status"] == "rate_limited" and first["http_status"] == 429
    assert first["error_type"] == "rate_limit_error"
    assert (first["prompt_tokens"], first["completion_tokens"], first["usage_missing"]) == (
        0,
        0,
        True,
    )
    assert second["attempt"] == 2 and second["parent_event_id"] == first["event_id"]
    assert first["task_id"] == second["task_id"] == "task-9"
    assert "fallback_from_route" not in second and second["status"] == "success"
    assert assert_loadable(landing, tmp_path / "lake") == 2


def test_fallback_to_another_model_names_the_failed_route(
    http, base_url, emitter, landing, tmp_path
):
    with lme.attribution(**TAGS):
        assert chat(http, base_url, status=500).status_code == 500
        assert messages(http, base_url).status_code == 200
        with lme.route("agent-primary"):
            assert messages(http, base_url, status=529).status_code == 529
        with lme.route("agent-backup"):
            assert chat(http, base_url, model="gpt-4o-mini").status_code == 200
    emitter.flush()
    a, b, c, d = landed(landing)
    assert a["status"] == "error" and a["route"] == "openai/gpt-4o"
    assert b["parent_event_id"] == a["event_id"] and b["fallback_from_route"] == "openai/gpt-4o"
    assert b["provider"] == "anthropic" and b["route"] == "anthropic/claude-sonnet-4-20250514"
    # Anthropic: prompt_tokens counts cache reads and writes too
    assert (b["prompt_tokens"], b["cached_prompt_tokens"], b["cache_write_tokens"]) == (
        3300,
        3000,
        200,
    )
    assert b["completion_tokens"] == 150 and b["service_tier"] == "standard"
    # a success is not retried: the next call is attempt 3 with no parent
    assert (
        c["attempt"] == 3 and "parent_event_id" not in c and c["error_type"] == "overloaded_error"
    )
    assert d["parent_event_id"] == c["event_id"] and d["fallback_from_route"] == "agent-primary"
    assert len({r["task_id"] for r in (a, b, c, d)}) == 1
    assert assert_loadable(landing, tmp_path / "lake") == 4


def test_a_stream_writes_start_and_final_records_with_one_event_id(
    http, base_url, emitter, landing, tmp_path
):
    with lme.attribution(**TAGS):
        with http.stream(
            "POST",
            f"{base_url}/chat/completions",
            json={"model": "gpt-4o", "stream": True, "stream_options": {"include_usage": True}},
        ) as response:
            text = "".join(response.iter_text())
        assert "[DONE]" in text
        with http.stream(
            "POST",
            f"{base_url}/messages",
            json={"model": "claude-sonnet-4-20250514", "max_tokens": 9, "stream": True},
        ) as response:
            response.read()
        # without include_usage the counts are unknown: 0, flagged usage_missing
        chat(http, base_url, stream=True)
        # the app stops reading half way
        with http.stream(
            "POST", f"{base_url}/chat/completions", json={"model": "gpt-4o", "stream": True}
        ) as response:
            next(response.iter_raw(1))
    emitter.close()
    records = landed(landing)
    assert len(records) == 8
    start, final = records[0], records[1]
    assert start["event_id"] == final["event_id"]
    assert start["status"] == "in_progress" and "prompt_tokens" not in start
    assert start["emitted_at"] == start["occurred_at"] < final["emitted_at"]
    assert final["status"] == "success" and final["stream"] is True
    assert (final["prompt_tokens"], final["cached_prompt_tokens"]) == (1200, 1024)
    assert (final["completion_tokens"], final["reasoning_tokens"]) == (300, 128)
    anthropic_final = records[3]
    assert anthropic_final["event_id"] == records[2]["event_id"]
    assert (anthropic_final["prompt_tokens"], anthropic_final["completion_tokens"]) == (3300, 150)
    no_usage = records[5]
    assert no_usage["status"] == "success" and no_usage["usage_missing"] is True
    assert (no_usage["prompt_tokens"], no_usage["completion_tokens"]) == (0, 0)
    assert records[7]["status"] == "cancelled" and records[7]["event_id"] == records[6]["event_id"]
    assert assert_loadable(landing, tmp_path / "lake") == 8


def test_set_outcome_resends_the_last_attempt_with_a_later_emitted_at(
    http, base_url, emitter, landing, tmp_path
):
    assert lme.set_outcome("accepted") is False  # no task
    with lme.attribution(**TAGS) as task:
        assert task.set_outcome("accepted") is False  # no attempt yet
        chat(http, base_url)
        assert lme.set_outcome("accepted") is True
        assert lme.set_outcome("excellent") is False  # not in the contract
    emitter.flush()
    call, resent = landed(landing)
    assert resent["event_id"] == call["event_id"] and resent["emitted_at"] > call["emitted_at"]
    assert resent["outcome"] == "accepted" and "outcome" not in call
    assert {k: v for k, v in resent.items() if k not in ("outcome", "emitted_at")} == {
        k: v for k, v in call.items() if k != "emitted_at"
    }
    assert assert_loadable(landing, tmp_path / "lake") == 2


def test_a_full_disk_drops_records_and_the_call_still_returns(
    http, base_url, emitter, landing, tmp_path, monkeypatch, caplog
):
    real_open = _writer.open_file
    writes = []

    class FullAfterFirstWrite:
        """A file whose second write puts half its bytes on disk and then fails with ENOSPC."""

        def __init__(self, path):
            self.raw = real_open(path)

        def write(self, data):
            writes.append(len(data))
            if len(writes) == 1:
                return self.raw.write(data)
            self.raw.write(bytes(data)[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.raw, name)

    monkeypatch.setattr(_writer, "open_file", FullAfterFirstWrite)
    with caplog.at_level(logging.WARNING, logger="llm_margin_emit"), lme.attribution(**TAGS):
        assert chat(http, base_url).status_code == 200
        emitter.flush()  # the first batch is written and lands
        assert chat(http, base_url).status_code == 200
        emitter.flush()  # the second batch: half a line, then ENOSPC

        def nothing_fits(path):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(_writer, "open_file", nothing_fits)
        response = chat(http, base_url)
        assert response.status_code == 200 and response.json()["usage"]["prompt_tokens"] == 1200
        emitter.flush()
    stats = emitter.stats()
    assert stats["written"] == 1 and stats["dropped_write_error"] == 2 and stats["dropped"] == 2
    assert "No space left on device" in caplog.text
    # the half-written line was cut off: what landed is whole records only
    assert len(landed(landing)) == 1
    assert assert_loadable(landing, tmp_path / "lake") == 1


def test_a_full_queue_drops_without_blocking_or_raising(base_url, landing, monkeypatch, caplog):
    gate = threading.Event()
    real_open = _writer.open_file

    def slow_disk(path):
        gate.wait(10)
        return real_open(path)

    monkeypatch.setattr(_writer, "open_file", slow_disk)
    em = lme.Emitter(landing / "emitter", queue_size=2, drop_warning_every=5)
    try:
        with (
            httpx.Client(transport=lme.EmitTransport(emitter=em)) as client,
            caplog.at_level(logging.WARNING, logger="llm_margin_emit"),
            lme.attribution(**TAGS),
        ):
            for _ in range(12):
                assert chat(client, base_url).status_code == 200
        stats = em.stats()
        assert stats["dropped_queue_full"] >= 8 and stats["enqueued"] <= 4
        warnings = [r for r in caplog.records if "queue full" in r.getMessage()]
        assert 1 <= len(warnings) <= 3  # the first drop, then once every 5
    finally:
        gate.set()
        em.close()
    assert len(landed(landing)) == em.stats()["written"] == em.stats()["enqueued"]


def test_an_unserialisable_value_is_dropped_and_logged(http, base_url, emitter, landing, caplog):
    with caplog.at_level(logging.WARNING, logger="llm_margin_emit"):
        with lme.attribution(**TAGS, extra={"request": object()}):
            assert chat(http, base_url).status_code == 200
        with lme.attribution(**TAGS, extra={"score": float("nan")}):
            assert chat(http, base_url).status_code == 200
        with lme.attribution(**TAGS, extra={"region": "eu-west-1"}):
            assert chat(http, base_url).status_code == 200
        emitter.flush()
    assert emitter.stats()["dropped_unserialisable"] == 2
    assert "could not be serialised" in caplog.text
    [rec] = landed(landing)
    assert rec["region"] == "eu-west-1"


def test_a_timeout_is_recorded_and_raised_to_the_app_as_usual(base_url, emitter, landing):
    transport = lme.EmitTransport(emitter=emitter, provider="deepseek", route="cheap")
    with httpx.Client(transport=transport, timeout=0.1) as client, lme.attribution(**TAGS):
        with pytest.raises(httpx.TimeoutException):
            client.post(
                f"{base_url}/chat/completions",
                json={"model": "deepseek-chat"},
                headers={"x-test-sleep": "0.5"},
            )
        client.get(f"{base_url}/models")  # not an LLM call: not recorded
    emitter.flush()
    [rec] = landed(landing)
    assert rec["status"] == "timeout" and rec["error_type"] == "ReadTimeout"
    assert (rec["provider"], rec["model"], rec["route"]) == ("deepseek", "deepseek-chat", "cheap")


def test_attribution_follows_threads_and_asyncio_tasks(base_url, emitter, landing):
    async def one_task(client, customer):
        async with lme.attribution(customer_id=customer, workspace_id="ws", feature="f"):
            for _ in range(2):
                await client.post(f"{base_url}/chat/completions", json={"model": "gpt-4o"})
            return lme.current_task().task_id

    async def main():
        transport = lme.AsyncEmitTransport(emitter=emitter)
        async with httpx.AsyncClient(transport=transport) as client:
            return await asyncio.gather(*(one_task(client, f"cus_{i}") for i in range(3)))

    task_ids = asyncio.run(main())

    def in_thread(customer):
        with (
            httpx.Client(transport=lme.EmitTransport(emitter=emitter)) as client,
            lme.attribution(customer_id=customer, workspace_id="ws", feature="f"),
        ):
            # a worker thread started with the caller's context sees the caller's task
            contextvars.copy_context().run(chat, client, base_url)
            chat(client, base_url)

    threads = [threading.Thread(target=in_thread, args=(f"thr_{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    emitter.flush()
    by_task: dict[str, list[dict]] = {}
    for rec in landed(landing):
        by_task.setdefault(rec["task_id"], []).append(rec)
    assert len(by_task) == 6 and set(task_ids) <= set(by_task)
    for recs in by_task.values():
        assert sorted(r["attempt"] for r in recs) == [1, 2]
        assert len({r["customer_id"] for r in recs}) == 1


def test_files_rotate_by_size_and_by_age(http, base_url, landing):
    em = lme.Emitter(landing / "emitter", max_file_bytes=1, max_file_age_s=0.2)
    with (
        httpx.Client(transport=lme.EmitTransport(emitter=em)) as client,
        lme.attribution(**TAGS),
    ):
        for _ in range(3):
            chat(client, base_url)
            deadline = time.monotonic() + 3
            while em.stats()["written"] < em.stats()["enqueued"] and time.monotonic() < deadline:
                time.sleep(0.01)
    deadline = time.monotonic() + 3  # no flush: the size limit lands each file by itself
    while em.stats()["files_landed"] < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(list(landing.rglob("*.jsonl"))) == 3
    em.close()

    em = lme.Emitter(landing / "aged", max_file_age_s=0.2)
    with httpx.Client(transport=lme.EmitTransport(emitter=em)) as client, lme.attribution(**TAGS):
        chat(client, base_url)
    deadline = time.monotonic() + 3
    while not list((landing / "aged").rglob("*.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert list((landing / "aged").rglob("*.jsonl")), "the age limit did not land the file"
    em.close()


def test_the_process_wide_emitter_writes_under_the_data_directory(base_url, tmp_path, monkeypatch):
    monkeypatch.setenv("LLM_MARGIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LLM_MARGIN_EMIT_DIR", raising=False)
    em = lme.configure()
    try:
        assert em.directory == tmp_path / "data" / "landing" / "usage_events" / "emitter"
        with httpx.Client(transport=lme.EmitTransport()) as client, lme.attribution(**TAGS):
            chat(client, base_url)
        assert lme.flush() and lme.stats()["written"] == 1
    finally:
        lme.close()
    assert len(landed(tmp_path / "data" / "landing" / "usage_events")) == 1
    assert lme.stats()["dropped"] == 0


def test_a_disabled_emitter_writes_nothing(http, base_url, landing):
    em = lme.Emitter(landing / "emitter", enabled=False)
    with httpx.Client(transport=lme.EmitTransport(emitter=em)) as client, lme.attribution(**TAGS):
        assert chat(client, base_url).status_code == 200
    em.close()
    assert not landing.exists() or not list(landing.rglob("*.jsonl"))


# -- the SDK wrappers, by duck typing (the SDKs are not project dependencies) ----------------------


class FakeModel(SimpleNamespace):
    """Stands in for the SDKs' pydantic objects."""

    def model_dump(self):
        return {
            k: (v.model_dump() if isinstance(v, FakeModel) else v) for k, v in vars(self).items()
        }


class RateLimitError(Exception):
    status_code = 429


def fake_openai(script):
    def create(**kwargs):
        step = script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    completions = SimpleNamespace(create=create)
    return SimpleNamespace(
        base_url="https://api.openai.com/v1/", chat=SimpleNamespace(completions=completions)
    )


def test_instrument_openai_records_calls_retries_and_streams(emitter, landing, tmp_path):
    usage = FakeModel(**OPENAI_USAGE)
    reply = FakeModel(model="gpt-4o-2024-08-06", usage=usage, service_tier="flex")
    chunks = [
        FakeModel(model="gpt-4o-2024-08-06", usage=None),
        FakeModel(model="gpt-4o-2024-08-06", usage=usage),
    ]
    client = lme.instrument_openai(
        fake_openai([RateLimitError("slow down"), reply, iter(chunks)]), emitter=emitter
    )
    assert lme.instrument_openai(client, emitter=emitter) is client  # idempotent
    with lme.attribution(**TAGS):
        with pytest.raises(RateLimitError):
            client.chat.completions.create(model="gpt-4o", messages=[])
        assert client.chat.completions.create(model="gpt-4o", messages=[]) is reply
        stream = client.chat.completions.create(model="gpt-4o", messages=[], stream=True)
        assert list(stream) == chunks
    emitter.flush()
    failed, retried, start, final = landed(landing)
    assert (failed["provider"], failed["status"], failed["http_status"]) == (
        "openai",
        "rate_limited",
        429,
    )
    assert retried["parent_event_id"] == failed["event_id"] and retried["attempt"] == 2
    assert retried["prompt_tokens"] == 1200 and retried["service_tier"] == "flex"
    assert start["status"] == "in_progress" and final["event_id"] == start["event_id"]
    assert final["completion_tokens"] == 300 and final["reasoning_tokens"] == 128
    assert assert_loadable(landing, tmp_path / "lake") == 4


def test_instrument_anthropic_async_stream(emitter, landing, tmp_path):
    events = [
        FakeModel(
            type="message_start",
            message=FakeModel(model="claude-x", usage=FakeModel(**ANTHROPIC_USAGE)),
        ),
        FakeModel(type="content_block_delta", delta=FakeModel(text="hi")),
        FakeModel(type="message_delta", usage=FakeModel(output_tokens=151)),
        FakeModel(type="message_stop"),
    ]

    class Stream:
        def __init__(self):
            self.items = iter(events)

        def __aiter__(self):
            return self

        async def __anext__(self):
            try:
                return next(self.items)
            except StopIteration:
                raise StopAsyncIteration from None

    async def opened(**kwargs):
        return Stream()

    def create(**kwargs):  # like the SDKs' async create: a plain function returning a coroutine
        return opened(**kwargs)

    client = SimpleNamespace(
        base_url="https://api.anthropic.com", messages=SimpleNamespace(create=create)
    )
    lme.instrument_anthropic(client, emitter=emitter, route="agent")

    async def main():
        async with lme.attribution(**TAGS):
            stream = await client.messages.create(model="claude-x", max_tokens=5, stream=True)
            return [e async for e in stream]

    assert asyncio.run(main()) == events
    emitter.flush()
    start, final = landed(landing)
    assert final["provider"] == "anthropic" and final["route"] == "agent"
    assert (final["prompt_tokens"], final["completion_tokens"]) == (3300, 151)
    assert assert_loadable(landing, tmp_path / "lake") == 2


def test_sdk_wrapper_and_transport_together_count_each_http_attempt_once(
    http, base_url, emitter, landing
):
    def create(**kwargs):  # an SDK that retries a 429 itself, over an instrumented httpx client
        response = chat(http, base_url, status=429, **kwargs)
        if response.status_code == 429:
            response = chat(http, base_url, **kwargs)
        return response.json()

    client = SimpleNamespace(
        base_url=base_url, chat=SimpleNamespace(completions=SimpleNamespace(create=create))
    )
    lme.instrument_openai(client, emitter=emitter)
    with lme.attribution(**TAGS):
        client.chat.completions.create(model="gpt-4o")
    emitter.flush()
    first, second = landed(landing)
    assert first["status"] == "rate_limited" and second["parent_event_id"] == first["event_id"]
