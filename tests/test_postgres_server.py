"""The session's PostgreSQL server (tests/postgres_server.py) answers psycopg, and LiteLLM's
spend-log DDL (orchestration/ingest/litellm_schema.sql) creates a table that takes and returns a
row as the proxy writes one."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

import orchestration.ingest

SCHEMA_SQL = Path(orchestration.ingest.__file__).parent / "litellm_schema.sql"
SCHEMA = "litellm_ddl_test"  # this module's own schema on the shared server


def test_server_answers_on_localhost(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql://") and "@127.0.0.1:" in postgres_url
    with psycopg.connect(postgres_url) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()[0]
        user, database = conn.execute("SELECT current_user, current_database()").fetchone()
    assert int(version) >= 150000
    assert (user, database) == ("llm_margin", "llm_margin_test")


def test_wrong_password_is_refused(postgres_url: str) -> None:
    wrong = postgres_url.replace(":llm_margin_test_password@", ":not-the-password@")
    assert wrong != postgres_url
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=10)


@pytest.fixture
def spendlogs(postgres_url: str):
    """A connection whose search_path holds a fresh schema with LiteLLM_SpendLogs in it."""
    with psycopg.connect(postgres_url) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        conn.execute(f"SET search_path TO {SCHEMA}")
        conn.execute(SCHEMA_SQL.read_text())
        conn.commit()
        yield conn
        conn.rollback()
        conn.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
        conn.commit()


def test_ddl_creates_the_table_prisma_would(spendlogs: psycopg.Connection) -> None:
    columns = dict(
        spendlogs.execute(
            """SELECT column_name, data_type FROM information_schema.columns
               WHERE table_schema = %s AND table_name = 'LiteLLM_SpendLogs'""",
            [SCHEMA],
        ).fetchall()
    )
    assert columns["request_id"] == "text"
    assert columns["spend"] == "double precision"
    assert columns["total_tokens"] == columns["prompt_tokens"] == "integer"
    assert columns["startTime"] == columns["endTime"] == "timestamp without time zone"
    assert columns["completionStartTime"] == "timestamp without time zone"
    assert columns["user"] == "text"
    for name in ("metadata", "request_tags", "messages", "response", "proxy_server_request"):
        assert columns[name] == "jsonb", name
    for name in ("organization_id", "session_id", "status", "mcp_namespaced_tool_name"):
        assert columns[name] == "text", name

    primary_key = spendlogs.execute(
        """SELECT a.attname FROM pg_index i
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
           WHERE i.indrelid = '"LiteLLM_SpendLogs"'::regclass AND i.indisprimary"""
    ).fetchall()
    assert primary_key == [("request_id",)]
    indexes = {
        row[0]
        for row in spendlogs.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s", [SCHEMA]
        ).fetchall()
    }
    assert indexes == {
        "LiteLLM_SpendLogs_pkey",
        "LiteLLM_SpendLogs_startTime_idx",
        "LiteLLM_SpendLogs_startTime_request_id_idx",
        "LiteLLM_SpendLogs_end_user_idx",
        "LiteLLM_SpendLogs_session_id_idx",
    }


def test_a_row_reads_back_with_its_types(spendlogs: psycopg.Connection) -> None:
    metadata = {
        "user_api_key_team_alias": "support",
        "usage_object": {
            "prompt_tokens": 1200,
            "completion_tokens": 300,
            "total_tokens": 1500,
            "prompt_tokens_details": {"cached_tokens": 200},
        },
        "spend_logs_metadata": {"customer_id": "cus-1", "feature": "chat_assistant"},
    }
    spendlogs.execute(
        """INSERT INTO "LiteLLM_SpendLogs"
               (request_id, call_type, api_key, spend, total_tokens, prompt_tokens,
                completion_tokens, "startTime", "endTime", model, custom_llm_provider,
                "user", metadata, request_tags, team_id, status)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        [
            "chatcmpl-1",
            "acompletion",
            "hashed-key",
            0.0042,
            1500,
            1200,
            300,
            datetime(2026, 11, 20, 10, 0, 0, 123000),
            datetime(2026, 11, 20, 10, 0, 2, 456000),
            "gpt-4o",
            "openai",
            "usr-1",
            Jsonb(metadata),
            Jsonb(["team:support", "env:prod"]),
            "team-1",
            "success",
        ],
    )
    row = spendlogs.execute(
        """SELECT spend, total_tokens, "startTime", "endTime", metadata, request_tags,
                  messages, response, proxy_server_request, model_id, cache_hit,
                  "completionStartTime",
                  metadata -> 'usage_object' ->> 'prompt_tokens',
                  metadata #>> '{spend_logs_metadata,customer_id}'
           FROM "LiteLLM_SpendLogs" WHERE request_id = 'chatcmpl-1'"""
    ).fetchone()
    spend, total, start, end, meta, tags, messages, response, proxy_request = row[:9]
    model_id, cache_hit, completion_start, prompt_text, customer = row[9:]

    assert isinstance(spend, float) and spend == 0.0042
    assert isinstance(total, int) and total == 1500
    # TIMESTAMP(3): naive, kept to the millisecond
    assert start == datetime(2026, 11, 20, 10, 0, 0, 123000) and start.tzinfo is None
    assert (end - start).total_seconds() == pytest.approx(2.333)
    # JSONB comes back as Python objects, nested ones included
    assert meta == metadata
    assert isinstance(meta["usage_object"]["prompt_tokens"], int)
    assert meta["usage_object"]["prompt_tokens_details"] == {"cached_tokens": 200}
    assert meta["spend_logs_metadata"]["customer_id"] == "cus-1"
    assert tags == ["team:support", "env:prod"]
    # the defaults Prisma declares
    assert messages == response == proxy_request == {}
    assert model_id == cache_hit == ""
    assert completion_start is None
    # and SQL reaches inside it
    assert (prompt_text, customer) == ("1200", "cus-1")
