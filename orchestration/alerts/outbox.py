"""The webhook outbox: every alert to deliver waits here until the webhook acknowledges it (2xx).

A SQLite file under the data directory (``$LLM_MARGIN_DATA_DIR/alerts/outbox.sqlite3``), not the
warehouse: delivery runs in a sensor tick, which must never wait for (or take) the warehouse's
single-writer lock, and SQLite lets the tick and a run share the file safely. Enqueueing is
idempotent by ``alert_id``, so an alert enqueued twice (a crash between the outbox and the
warehouse record) is still delivered once. A failed attempt (connection refused, timeout, non-2xx)
is recorded and retried after an exponential backoff; nothing is ever dropped.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from orchestration.settings import WEBHOOK_URL_ENV

BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
TIMEOUT_SECONDS = 5.0
BATCH = 50

SCHEMA = """
create table if not exists outbox (
    alert_id text primary key,
    payload text not null,
    enqueued_at text not null,
    attempts integer not null default 0,
    next_attempt_at text not null,
    delivered_at text,
    last_status integer,
    last_error text
);
create table if not exists delivery_attempts (
    alert_id text not null,
    attempt integer not null,
    attempted_at text not null,
    status integer,
    error text,
    primary key (alert_id, attempt)
);
"""


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _stamp(moment: datetime) -> str:
    """A fixed-width UTC text timestamp, so that text order is time order in SQLite."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def outbox_path() -> Path:
    """``$LLM_MARGIN_DATA_DIR/alerts/outbox.sqlite3``."""
    from orchestration.paths import data_paths

    return data_paths().root / "alerts" / "outbox.sqlite3"


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` failures: 30 s, 60 s, 120 s ... at most 1 h."""
    return timedelta(
        seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)
    )


@dataclass(frozen=True)
class Response:
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post_json(url: str, body: dict[str, Any], timeout: float = TIMEOUT_SECONDS) -> Response:
    """POST ``body`` as JSON; never raises (a transport error is a Response without status)."""
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Response(response.status)
    except urllib.error.HTTPError as exc:
        return Response(exc.code, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        return Response(None, f"{type(exc).__name__}: {reason}")


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int
    failed: int
    pending: int
    not_configured: bool = False

    def summary(self) -> str:
        if self.not_configured:
            return f"webhook not configured (${WEBHOOK_URL_ENV}); {self.pending} alert(s) waiting"
        return f"delivered {self.delivered}, failed {self.failed}, {self.pending} pending"


class Outbox:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30)
        con.execute("pragma journal_mode=wal")
        return con

    def enqueue(self, alert_id: str, payload: dict[str, Any], now: datetime | None = None) -> bool:
        """Add a message; False when that alert is already in the outbox (delivered or not)."""
        stamp = _stamp(_now(now))
        with self._connect() as con:
            cursor = con.execute(
                "insert or ignore into outbox (alert_id, payload, enqueued_at, next_attempt_at) "
                "values (?, ?, ?, ?)",
                (alert_id, json.dumps(payload), stamp, stamp),
            )
            return cursor.rowcount == 1

    def pending(self) -> int:
        with self._connect() as con:
            return con.execute("select count(*) from outbox where delivered_at is null").fetchone()[
                0
            ]

    def rows(self) -> list[dict[str, Any]]:
        with self._connect() as con:
            con.row_factory = sqlite3.Row
            return [dict(r) for r in con.execute("select * from outbox order by enqueued_at")]

    def attempts(self, alert_id: str | None = None) -> list[dict[str, Any]]:
        with self._connect() as con:
            con.row_factory = sqlite3.Row
            sql = "select * from delivery_attempts"
            args: tuple = ()
            if alert_id:
                sql += " where alert_id = ?"
                args = (alert_id,)
            return [dict(r) for r in con.execute(sql + " order by attempted_at, attempt", args)]

    def deliver_due(
        self,
        url: str | None,
        now: datetime | None = None,
        post: Callable[[str, dict[str, Any]], Response] = post_json,
        batch: int = BATCH,
    ) -> DeliveryReport:
        """Try every message whose backoff has expired, oldest first. Stops at the first
        transport failure (the endpoint is down: the rest would fail the same way and slow the
        tick); an HTTP error is per message and does not stop the batch."""
        if not url:
            return DeliveryReport(0, 0, self.pending(), not_configured=True)
        moment = _now(now)
        with self._connect() as con:
            due = con.execute(
                "select alert_id, payload, attempts from outbox "
                "where delivered_at is null and next_attempt_at <= ? "
                "order by enqueued_at, alert_id limit ?",
                (_stamp(moment), batch),
            ).fetchall()
        delivered = failed = 0
        for alert_id, payload, attempts in due:
            response = post(url, json.loads(payload))
            attempt = attempts + 1
            with self._connect() as con:
                con.execute(
                    "insert into delivery_attempts values (?, ?, ?, ?, ?)",
                    (alert_id, attempt, _stamp(moment), response.status, response.error),
                )
                if response.ok:
                    con.execute(
                        "update outbox set attempts = ?, delivered_at = ?, last_status = ?, "
                        "last_error = null where alert_id = ?",
                        (attempt, _stamp(moment), response.status, alert_id),
                    )
                else:
                    con.execute(
                        "update outbox set attempts = ?, next_attempt_at = ?, last_status = ?, "
                        "last_error = ? where alert_id = ?",
                        (
                            attempt,
                            _stamp(moment + backoff(attempt)),
                            response.status,
                            response.error,
                            alert_id,
                        ),
                    )
            if response.ok:
                delivered += 1
            else:
                failed += 1
                if response.status is None:
                    break
        return DeliveryReport(delivered, failed, self.pending())
