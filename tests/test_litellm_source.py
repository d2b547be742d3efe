"""LiteLLM proxy spend logs → usage-event contract records (orchestration/ingest/sources/litellm*.py).

Spend-log rows are written here by hand: as a JSON Lines export, as a CSV export (JSON columns
as JSON text cells, empty cell = null), and as rows of ``LiteLLM_SpendLogs`` in a real
PostgreSQL (the session's ``postgres_url`` server, a fresh database per test, the table from
``litellm_schema.sql``) pulled with ``litellm_pull.pull_spend_logs``. Every file is loaded with
``usage_events.load_file(..., read=litellm.read_spend_logs, source_format="litellm")`` and the
tests read the lake with DuckDB. Expectations are written next to the inputs they come from.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import psycopg
import pytest
from conftest import write_jsonl
from psycopg.types.json import Jsonb

from orchestration.ingest import usage_events
from orchestration.ingest.lake import Lake
from orchestration.ingest.sources import litellm, litellm_pull

NOW = datetime(2026, 11, 21, tzinfo=UTC)
DAY = datetime(2026, 11, 20, 10)  # naive UTC, as LiteLLM's timestamp(3) columns are
DDL = Path(__file__).resolve().parent.parent / "orchestration" / "ingest" / "litellm_schema.sql"
PRIVATE = ("messages", "response", "proxy_server_request")


# ---------------------------------------------------------------- rows, files, lake


def row(request_id: str, start: datetime, latency_ms: int, **columns) -> dict:
    """One spend-log row, every column LiteLLM's table has that llm-margin reads."""
    out = {
        "request_id": request_id,
        "call_type": "acompletion",
        "spend": 0.01,
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "total_tokens": 120,
        "startTime": start,
        "endTime": start + timedelta(milliseconds=latency_ms),
        "model": "gpt-4o",
        "model_group": "gpt-4o",
        "custom_llm_provider": "openai",
        "api_base": "https://api.openai.com/v1",
        "user": None,
        "metadata": {},
        "request_tags": [],
        "team_id": None,
        "end_user": None,
        "session_id": None,
        "status": "success",
    }
    out.update(columns)
    out["total_tokens"] = out["prompt_tokens"] + out["completion_tokens"]
    return out


def tagged(**more) -> dict:
    """``metadata`` carrying the app's own tags (``spend_logs_metadata``)."""
    return {
        "spend_logs_metadata": {
            "customer_id": "cus-1",
            "workspace_id": "ws-1",
            "feature": "chat",
            **more,
        }
    }


def _stamp(value: datetime, sep: str) -> str:
    return value.isoformat(sep=sep, timespec="milliseconds")


def write_export_jsonl(path: Path, rows: list[dict]) -> Path:
    def as_json(r: dict) -> dict:
        return {k: _stamp(v, "T") if isinstance(v, datetime) else v for k, v in r.items()}

    return write_jsonl(path, [as_json(r) for r in rows])


def write_export_csv(path: Path, rows: list[dict]) -> Path:
    def cell(value) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return _stamp(value, " ")
        if isinstance(value, dict | list):
            return json.dumps(value)
        return str(value)

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(rows[0]))
        for r in rows:
            writer.writerow([cell(v) for v in r.values()])
    return path


def load(root: Path, landing: Path, path: Path) -> usage_events.FileLoad:
    result = usage_events.load_file(
        path, landing, Lake(root), read=litellm.read_spend_logs, source_format="litellm", now=NOW
    )
    assert result.status == "loaded", result.message
    assert result.reconciles
    return result


def query(sql: str) -> list[dict]:
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def good(root: Path) -> dict[str, dict]:
    pattern = (root / "usage_events" / "*" / "*.parquet").as_posix()
    rows = query(
        f"select *, epoch_ms(occurred_at) as occurred_ms, epoch_ms(emitted_at) as emitted_ms "
        f"from read_parquet('{pattern}', hive_partitioning = true, union_by_name = true) "
        "where event_date::varchar <> '1970-01-01' order by event_id"
    )
    out: dict[str, dict] = {}
    for r in rows:
        assert r["event_id"] not in out, f"{r['event_id']} is in the lake twice"
        out[r["event_id"]] = r
    return out


def quarantined(root: Path) -> list[dict]:
    pattern = (root / "quarantine" / "usage_events" / "*.parquet").as_posix()
    return query(
        f"select * from read_parquet('{pattern}', union_by_name = true) "
        "order by source_file, source_row"
    )


def epoch_ms(value: datetime) -> int:
    return round(value.replace(tzinfo=UTC).timestamp() * 1000)


# ---------------------------------------------------------------- 1. the mapping


def mapping_rows() -> list[dict]:
    return [
        # everything from spend_logs_metadata, which beats the columns
        row(
            "req-full",
            DAY,
            1_500,
            spend=0.0123,
            prompt_tokens=1_000,
            completion_tokens=200,
            model="openai/gpt-4o",
            model_group="gpt-4o-group",
            user="key-user",
            end_user="end-user",
            team_id="team-col",
            session_id="sess-col",
            request_tags=["feature:from-tag"],
            metadata={
                **tagged(task_id="task-1", user_id="usr-1"),
                "user_api_key_team_id": "team-meta",
                "usage_object": {
                    "prompt_tokens_details": {"cached_tokens": 300},
                    "cache_read_input_tokens": 999,
                    "cache_creation_input_tokens": 50,
                    "completion_tokens_details": {"reasoning_tokens": 40},
                },
            },
        ),
        # every fallback: end_user, team_id, a feature tag, session_id, user, cache_read
        row(
            "req-fallbacks",
            DAY + timedelta(seconds=10),
            250,
            model="claude-3-5-sonnet",
            model_group="claude",
            custom_llm_provider="anthropic",
            user="key-user-2",
            end_user="end-user-2",
            team_id="team-2",
            session_id="sess-2",
            request_tags=["env:prod", "feature:search"],
            metadata={"usage_object": {"cache_read_input_tokens": 80}},
        ),
        # workspace from the key's team; a prefix of another provider stays; rate limited
        row(
            "req-ratelimit",
            DAY + timedelta(seconds=20),
            40,
            model="azure/gpt-4o",
            status="failure",
            metadata={
                "spend_logs_metadata": {"customer_id": "cus-3", "feature": "chat"},
                "user_api_key_team_id": "team-meta",
                "error_information": {"error_class": "RateLimitError"},  # by its class only
            },
        ),
        # the app's retry chain; a 429 by its code only
        row(
            "req-429",
            DAY + timedelta(seconds=21),
            30,
            status="failure",
            metadata={
                **tagged(parent_event_id="req-ratelimit", attempt=2),
                "error_information": {"error_class": "APIError", "error_code": "429"},
            },
        ),
        row(
            "req-timeout",
            DAY + timedelta(seconds=22),
            30_000,
            status="failure",
            metadata={
                **tagged(parent_event_id="req-429", attempt=3),
                "error_information": {"error_class": "Timeout"},
            },
        ),
        row(
            "req-error",
            DAY + timedelta(seconds=60),
            90,
            status="failure",
            metadata={
                **tagged(),
                "error_information": {"error_class": "BadRequestError", "error_code": "400"},
            },
        ),
        # no metadata at all: tags from the columns only
        row(
            "req-bare",
            DAY + timedelta(seconds=70),
            10,
            metadata=None,
            end_user="end-user-7",
            team_id="team-7",
            request_tags=["feature:bare"],
        ),
    ]


def expect(
    customer: str,
    workspace: str,
    feature: str,
    *,
    task: str | None = None,
    user: str | None = None,
    provider: str = "openai",
    model: str = "gpt-4o",
    route: str = "gpt-4o",
    status: str = "success",
    cached: int | None = None,
    cache_write: int | None = None,
    reasoning: int | None = None,
    parent: str | None = None,
    attempt: int | None = None,
) -> dict:
    return {
        "customer_id": customer,
        "workspace_id": workspace,
        "feature": feature,
        "task_id": task,
        "user_id": user,
        "provider": provider,
        "model": model,
        "route": route,
        "status": status,
        "cached_prompt_tokens": cached,
        "cache_write_tokens": cache_write,
        "reasoning_tokens": reasoning,
        "parent_event_id": parent,
        "attempt": attempt,
    }


# what each row of mapping_rows() maps to, read off the row
EXPECTED = {
    "req-full": expect(
        "cus-1",
        "ws-1",
        "chat",
        task="task-1",
        user="usr-1",
        route="gpt-4o-group",
        cached=300,
        cache_write=50,
        reasoning=40,
    ),
    "req-fallbacks": expect(
        "end-user-2",
        "team-2",
        "search",
        task="sess-2",
        user="key-user-2",
        provider="anthropic",
        model="claude-3-5-sonnet",
        route="claude",
        cached=80,
    ),
    "req-ratelimit": expect(
        "cus-3", "team-meta", "chat", model="azure/gpt-4o", status="rate_limited"
    ),
    "req-429": expect(
        "cus-1", "ws-1", "chat", status="rate_limited", parent="req-ratelimit", attempt=2
    ),
    "req-timeout": expect("cus-1", "ws-1", "chat", status="timeout", parent="req-429", attempt=3),
    "req-error": expect("cus-1", "ws-1", "chat", status="error"),
    "req-bare": expect("end-user-7", "team-7", "bare"),
}


@pytest.mark.parametrize("export", ["jsonl", "csv"])
def test_spend_log_exports_map_onto_the_contract(tmp_path, export):
    root, landing = tmp_path / "lake", tmp_path / "landing"
    rows = mapping_rows()
    write = write_export_jsonl if export == "jsonl" else write_export_csv
    path = write(landing / "litellm" / f"x.{export}", rows)
    result = load(root, landing, path)
    assert (result.records_read, result.records_loaded) == (len(rows), len(rows))
    assert result.source_format == "litellm"

    calls = good(root)
    assert set(calls) == set(EXPECTED)
    for r in rows:
        call = calls[r["request_id"]]
        assert {name: call[name] for name in EXPECTED[r["request_id"]]} == EXPECTED[r["request_id"]]
        assert (call["prompt_tokens"], call["completion_tokens"]) == (
            r["prompt_tokens"],
            r["completion_tokens"],
        )
        assert call["occurred_ms"] == epoch_ms(r["startTime"])
        assert call["emitted_ms"] == epoch_ms(r["endTime"])
        assert call["latency_ms"] == (r["endTime"] - r["startTime"]) // timedelta(milliseconds=1)
        extra = json.loads(call["attributes"])
        assert float(extra["gateway_cost_usd"]) == r["spend"]
        assert extra["litellm_call_type"] == "acompletion"
        assert "_mapping_error" not in extra
        assert (call["_source_file"], call["_source_format"]) == (f"litellm/x.{export}", "litellm")
        assert call["_source_row"] == rows.index(r) + 1


# ---------------------------------------------------------------- 2. rows that cannot be read


def broken_rows(broken_metadata) -> list[dict]:
    return [
        row("ok-1", DAY, 100, metadata=tagged()),
        row("bad-metadata", DAY, 100, metadata=broken_metadata),
        row("negative", DAY, 100, completion_tokens=-5, prompt_tokens=30, metadata=tagged()),
        row("no-model", DAY, 100, model="", metadata=tagged()),
        row("ok-2", DAY, 100, metadata=tagged()),
    ]


@pytest.mark.parametrize("export", ["jsonl", "csv"])
def test_unreadable_rows_are_quarantined_with_their_position(tmp_path, export):
    root, landing = tmp_path / "lake", tmp_path / "landing"
    if export == "csv":
        # a CSV cell whose JSON text is cut short
        path = write_export_csv(landing / "litellm" / "b.csv", broken_rows(None))
        text = path.read_text().splitlines()
        assert text[2].startswith("bad-metadata,")
        header = next(csv.reader([text[0]]))
        cells = next(csv.reader([text[2]]))
        cells[header.index("metadata")] = '{"spend_logs_metadata": {"customer_id": "cus-'
        text[2] = _csv_line(cells)
        path.write_text("\n".join(text) + "\n")
    else:
        # a JSON string that is not a JSON object's text
        path = write_export_jsonl(landing / "litellm" / "b.jsonl", broken_rows("{not json"))
    result = load(root, landing, path)
    assert (result.records_read, result.records_loaded, result.records_quarantined) == (5, 2, 3)
    assert set(good(root)) == {"ok-1", "ok-2"}
    bad = [
        (q["source_file"], q["source_row"], q["event_id"], q["error_code"])
        for q in quarantined(root)
    ]
    name = f"litellm/b.{export}"
    assert bad == [
        (name, 2, "bad-metadata", "source_record_unreadable"),
        (name, 3, "negative", "negative_value"),
        (name, 4, "no-model", "missing_required"),
    ]
    by_code = {q["error_code"]: q for q in quarantined(root)}
    assert "metadata" in by_code["source_record_unreadable"]["error_message"]
    assert by_code["negative_value"]["error_field"] == "completion_tokens"
    assert by_code["missing_required"]["error_field"] == "model"


def _csv_line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


# ---------------------------------------------------------------- 3. the Postgres pull


@pytest.fixture
def database(postgres_url, request) -> str:
    """A fresh database with LiteLLM's spend-log table."""
    name = "litellm_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:50]
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}"')
        conn.execute(f'create database "{name}"')
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(url) as conn:
        conn.execute(DDL.read_text())
    return url


def insert(url: str, rows: list[dict]) -> None:
    with psycopg.connect(url) as conn:
        for r in rows:
            values = {
                k: Jsonb(v) if k in ("metadata", "request_tags", *PRIVATE) else v
                for k, v in r.items()
            }
            names = ", ".join(f'"{k}"' for k in values)
            marks = ", ".join(["%s"] * len(values))
            conn.execute(
                f'insert into "LiteLLM_SpendLogs" ({names}) values ({marks})', list(values.values())
            )


def pull(url: str, landing: Path, now: datetime) -> litellm_pull.Pull:
    result = litellm_pull.pull_spend_logs(
        url, landing / "litellm", now=now, overlap=timedelta(hours=1)
    )
    assert result.reconciles
    return result


def pulled_files(landing: Path) -> list[Path]:
    return sorted((landing / "litellm" / "postgres").iterdir())


def stamp(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S.%f")


def lines(path: Path) -> list[dict]:
    return [json.loads(text) for text in path.read_text().splitlines()]


def test_a_pull_lands_every_row_once_without_prompts_or_responses(tmp_path, database):
    landing, root = tmp_path / "landing", tmp_path / "lake"
    secrets = {
        "messages": [{"role": "user", "content": "SECRET-PROMPT"}],
        "response": {"choices": [{"message": {"content": "SECRET-ANSWER"}}]},
        "proxy_server_request": {"body": {"messages": "SECRET-BODY"}},
    }
    rows = [
        row("p-1", DAY, 200, metadata=tagged(), **secrets),
        row("p-2", DAY + timedelta(minutes=5), 200, metadata=tagged(), **secrets),
        row("p-3", DAY + timedelta(minutes=9), 200, completion_tokens=-1, metadata=tagged()),
    ]
    insert(database, rows)

    first = pull(database, landing, NOW)
    newest = max(r["startTime"] for r in rows)
    expected_name = f"postgres/spend-logs-{stamp(newest)}-{stamp(NOW)}.jsonl"
    assert (first.window_from, first.rows_fetched, first.rows_written) == (None, 3, 3)
    assert first.file == expected_name
    assert [p.name for p in pulled_files(landing)] == [Path(expected_name).name]

    landed = pulled_files(landing)[0]
    text = landed.read_text()
    for secret in ("SECRET-PROMPT", "SECRET-ANSWER", "SECRET-BODY"):
        assert secret not in text
    for landed_row in lines(landed):
        assert not set(PRIVATE) & set(landed_row)
        assert set(landed_row) <= set(litellm.COLUMNS)
    assert sorted(r["request_id"] for r in lines(landed)) == ["p-1", "p-2", "p-3"]

    again = pull(database, landing, NOW + timedelta(minutes=10))
    assert (again.rows_written, again.file) == (0, None)
    assert again.rows_fetched == again.rows_already_pulled == 3  # all within the hour's overlap
    assert len(pulled_files(landing)) == 1

    result = load(root, landing, landed)
    assert (result.records_read, result.records_loaded, result.records_quarantined) == (3, 2, 1)
    assert set(good(root)) == {"p-1", "p-2"}
    assert [(q["event_id"], q["error_code"]) for q in quarantined(root)] == [
        ("p-3", "negative_value")
    ]


def test_a_row_committed_late_within_the_overlap_is_landed_once(tmp_path, database):
    landing, root = tmp_path / "landing", tmp_path / "lake"
    first_rows = [
        row("w-1", DAY - timedelta(hours=1), 100, metadata=tagged()),
        row("w-2", DAY + timedelta(minutes=15), 100, metadata=tagged()),
        row("w-3", DAY + timedelta(hours=1), 100, metadata=tagged()),
    ]
    insert(database, first_rows)
    first = pull(database, landing, NOW)
    watermark = max(r["startTime"] for r in first_rows)
    assert first.rows_written == 3 and first.watermark == watermark.isoformat()

    late = row("late", watermark - timedelta(minutes=30), 100, metadata=tagged())
    insert(database, [late])
    second_at = NOW + timedelta(minutes=10)
    second = pull(database, landing, second_at)
    window_from = watermark - timedelta(hours=1)
    in_window = [r for r in [*first_rows, late] if r["startTime"] >= window_from]
    assert second.window_from == window_from.isoformat()
    assert second.rows_fetched == len(in_window) == 3
    assert second.rows_already_pulled == len(in_window) - 1  # w-2 and w-3: not landed again
    assert second.rows_written == 1
    # the watermark never goes back: the late row is older than the newest pulled
    assert second.file == f"postgres/spend-logs-{stamp(watermark)}-{stamp(second_at)}.jsonl"
    assert [r["request_id"] for r in lines(landing / "litellm" / second.file)] == ["late"]

    third = pull(database, landing, NOW + timedelta(minutes=20))
    assert (third.rows_written, third.rows_already_pulled, third.file) == (0, 3, None)

    files = pulled_files(landing)
    assert len(files) == 2
    for path in files:
        result = load(root, landing, path)
        assert result.records_read == len(lines(path))
        assert result.records_read == result.records_loaded + result.records_quarantined
    assert sorted(good(root)) == ["late", "w-1", "w-2", "w-3"]
    assert quarantined(root) == []


def test_limit_a_row_committed_later_than_the_overlap_before_the_watermark_is_never_pulled(
    tmp_path, database
):
    """A known limit (litellm_pull's docstring): the pull reads from ``watermark - overlap``. A
    row committed after a pull with a ``startTime`` older than that window is never landed;
    widen the overlap to cover the proxy's longest commit delay."""
    landing = tmp_path / "landing"
    insert(database, [row("x-1", DAY, 100, metadata=tagged())])
    first = pull(database, landing, NOW)
    too_late = row("too-late", DAY - timedelta(hours=1, minutes=1), 100, metadata=tagged())
    insert(database, [too_late])
    for minutes in (10, 20):
        later = pull(database, landing, NOW + timedelta(minutes=minutes))
        assert (later.rows_fetched, later.rows_written, later.file) == (1, 0, None)
    landed = [r["request_id"] for path in pulled_files(landing) for r in lines(path)]
    assert landed == ["x-1"]
    assert first.watermark == DAY.isoformat()


def test_a_table_without_session_id_and_status_still_pulls(tmp_path, database):
    """An older LiteLLM's table: no ``session_id`` and ``status`` columns."""
    landing, root = tmp_path / "landing", tmp_path / "lake"
    with psycopg.connect(database) as conn:
        conn.execute('alter table "LiteLLM_SpendLogs" drop column session_id, drop column status')
    rows = [
        row("old-1", DAY, 120, metadata=tagged(task_id="task-old")),
        row("old-2", DAY + timedelta(minutes=1), 80, metadata=tagged()),
    ]
    for r in rows:
        del r["session_id"], r["status"]
    insert(database, rows)
    result = pull(database, landing, NOW)
    assert result.rows_written == 2
    landed = lines(landing / "litellm" / result.file)
    assert [(r["session_id"], r["status"]) for r in landed] == [(None, None), (None, None)]

    load(root, landing, landing / "litellm" / result.file)
    calls = good(root)
    assert {k: (c["task_id"], c["status"]) for k, c in calls.items()} == {
        "old-1": ("task-old", "success"),
        "old-2": (None, "success"),
    }
