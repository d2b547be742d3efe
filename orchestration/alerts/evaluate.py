"""One evaluation: read the budget and runaway marts, fire the new alerts, queue and deliver them.

Order matters for "exactly once": new alerts are first queued in the outbox (idempotent by
alert_id), then recorded in ``audit.budget_alerts`` (the dedupe key). A crash between the two
re-finds the same new alerts on the next evaluation; queueing them again is a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from orchestration.alerts.outbox import DeliveryReport, Outbox
from orchestration.alerts.rules import Alert, abuse_alerts, budget_alerts
from orchestration.alerts.store import find_new_alerts, insert_alerts

LATEST_BUDGETS_SQL = """
select *
from marts.mart_budget_status
where period_start = (select max(period_start) from marts.mart_budget_status)
order by scope, scope_id
"""

# Workspace-days of the runaway mart inside the abuse window the cap list uses (the
# gateway_abuse_window_days var), with up to five runaway task ids as evidence.
RECENT_RUNAWAY_SQL = """
with flagged as (
    select caps.scope_id as workspace_id, min(caps.period_start) as first_day
    from marts.mart_gateway_caps as caps
    where caps.reason in ('runaway_loop', 'spend_spike')
    group by caps.scope_id
),
days as (
    select runaway.*
    from marts.mart_runaway_workspaces as runaway
    inner join flagged
        on runaway.workspace_id = flagged.workspace_id
        and runaway.spend_date >= flagged.first_day
),
evidence as (
    select
        tasks.workspace_id,
        tasks.task_date,
        list(tasks.task_id order by tasks.attempts desc, tasks.task_id)[1:5] as runaway_task_ids
    from marts.fct_tasks as tasks
    inner join days
        on tasks.workspace_id = days.workspace_id
        and tasks.task_date = days.spend_date
    where tasks.is_runaway
    group by tasks.workspace_id, tasks.task_date
)
select days.*, evidence.runaway_task_ids
from days
left join evidence
    on days.workspace_id = evidence.workspace_id
    and days.spend_date = evidence.task_date
order by days.workspace_id, days.spend_date
"""


def _dicts(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


@dataclass(frozen=True)
class Evaluation:
    candidates: int
    fired: list[Alert]
    queued: list[Alert]
    delivery: DeliveryReport | None


def current_alerts(con: duckdb.DuckDBPyConnection) -> list[Alert]:
    """Every alert the latest period's budgets and the recent runaways raise (fired or not)."""
    alerts: list[Alert] = []
    budgets = _dicts(con, LATEST_BUDGETS_SQL)
    alerts += budget_alerts(budgets)
    if _has_table(con, "marts", "mart_gateway_caps") and _has_table(
        con, "marts", "mart_runaway_workspaces"
    ):
        as_of = con.execute("select max(as_of) from marts.mart_gateway_caps").fetchone()[0]
        if as_of is not None:
            alerts += abuse_alerts(_dicts(con, RECENT_RUNAWAY_SQL), as_of)
    return alerts


def evaluate(
    warehouse: Path,
    outbox: Outbox,
    webhook_url: str | None = None,
    deliver: bool = True,
    now: datetime | None = None,
) -> Evaluation:
    """Fire the alerts not fired before (once per scope, scope_id, threshold and period), queue
    the ones to send, record them all, then try delivering what is due. Delivery failures are
    left in the outbox for the next attempt; they never fail the evaluation."""
    with duckdb.connect(str(warehouse)) as con:
        candidates = current_alerts(con)
        new = find_new_alerts(con, candidates)
        for alert, send in new:
            if send:
                outbox.enqueue(alert.alert_id, alert.payload(), now=now)
        insert_alerts(con, new, fired_at=now)
    report = None
    if deliver:
        report = outbox.deliver_due(webhook_url, now=now, batch=20)
    return Evaluation(
        candidates=len(candidates),
        fired=[alert for alert, _ in new],
        queued=[alert for alert, send in new if send],
        delivery=report,
    )
