"""Small hand-built marts for the budget alert tests: the sensors read these tables, whose own
rules are pinned by the dbt unit tests of mart_budget_status."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

BUDGET_COLUMNS = """
    budget_status_id varchar, scope varchar, scope_id varchar, customer_id varchar,
    period_start date, as_of timestamp, budget_usd decimal(24, 12), budget_source varchar,
    spend_usd decimal(24, 12), share_used double, elapsed_days bigint, days_in_period bigint,
    projected_spend_usd decimal(24, 12), projected_share double, has_reached_50_pct boolean,
    has_reached_80_pct boolean, is_projected_breach boolean, is_over_budget boolean, state varchar
"""
# The flags a budget row carries, as the mart decided them (its rules are pinned by its dbt unit
# tests): "50", "80", "projected" and "over".
FLAGS = ("50", "80", "projected", "over")


def budget_row(
    scope_id: str,
    spend: str,
    budget: str,
    projected: str,
    as_of: datetime,
    scope: str = "customer",
    source: str = "revenue_at_target_margin",
    period: date = date(2026, 11, 1),
    *,
    crossed: tuple[str, ...] = (),
) -> tuple:
    """A mart_budget_status row; ``crossed`` names the threshold flags the mart set on it."""
    unknown = set(crossed) - set(FLAGS)
    assert not unknown, f"unknown flags {unknown}; use {FLAGS}"
    spend_d, budget_d, projected_d = Decimal(spend), Decimal(budget), Decimal(projected)
    return (
        f"{scope}:{scope_id}:{period}",
        scope,
        scope_id,
        scope_id if scope == "customer" else "c-owner",
        period,
        as_of,
        budget_d,
        source,
        spend_d,
        float(spend_d / budget_d),
        None,
        None,
        projected_d,
        float(projected_d / budget_d),
        *(flag in crossed for flag in FLAGS),
        "n/a",  # the alerts read the flags, not the state
    )


def write_marts(
    warehouse: Path,
    budgets: list[tuple],
    runaway_days: list[tuple] = (),
    runaway_tasks: list[tuple] = (),
) -> None:
    """Replace the four marts the alerts read (as a dbt build would)."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    as_of = max((row[5] for row in budgets), default=None)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists marts")
        con.execute(f"create or replace table marts.mart_budget_status ({BUDGET_COLUMNS})")
        if budgets:
            con.executemany(
                "insert into marts.mart_budget_status values "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                budgets,
            )
        con.execute(
            "create or replace table marts.mart_runaway_workspaces (workspace_id varchar, "
            "customer_id varchar, spend_date date, reason varchar, tasks bigint, "
            "runaway_tasks bigint, attempts bigint, max_task_attempts bigint, "
            "spend_usd decimal(24, 12), baseline_median_usd double, history_days bigint, "
            "spend_ratio double)"
        )
        if runaway_days:
            con.executemany(
                "insert into marts.mart_runaway_workspaces values "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                list(runaway_days),
            )
        con.execute(
            "create or replace table marts.fct_tasks (task_id varchar, workspace_id varchar, "
            "task_date date, attempts bigint, is_runaway boolean)"
        )
        if runaway_tasks:
            con.executemany(
                "insert into marts.fct_tasks values (?, ?, ?, ?, ?)", list(runaway_tasks)
            )
        con.execute(
            "create or replace table marts.mart_gateway_caps (cap_id varchar, scope varchar, "
            "scope_id varchar, customer_id varchar, reason varchar, since timestamp, "
            "period_start date, spend_usd decimal(24, 12), cap_usd decimal(24, 12), "
            "as_of timestamp)"
        )
        for day in runaway_days:
            workspace, customer, spend_date, reason = day[0], day[1], day[2], day[3]
            reasons = (["runaway_loop"] if day[5] > 0 else []) + (
                ["spend_spike"] if reason.startswith("spend_spike") else []
            )
            for cap_reason in reasons:
                con.execute(
                    "insert into marts.mart_gateway_caps values (?, 'workspace', ?, ?, ?, ?, ?, ?, "
                    "null, ?)",
                    [
                        f"workspace:{workspace}:{cap_reason}",
                        workspace,
                        customer,
                        cap_reason,
                        datetime.combine(spend_date, datetime.min.time()),
                        spend_date,
                        day[8],
                        as_of,
                    ],
                )


def alert_rows(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select scope, scope_id, threshold, period_start, delivery from audit.budget_alerts "
            "order by fired_at, threshold"
        ).fetchall()


class Webhook:
    """A local webhook on 127.0.0.1 (ephemeral port) that answers ``status`` and records every
    request body, and which of them it acknowledged (2xx)."""

    def __init__(self, port: int = 0):
        self.status = 200
        self.received: list[dict] = []
        self.acknowledged: list[dict] = []
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hook.received.append(body)
                status = hook.status
                if 200 <= status < 300:
                    hook.acknowledged.append(body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def acknowledged_ids(self) -> list[str]:
        return [body["alert"]["alert_id"] for body in self.acknowledged]


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"
