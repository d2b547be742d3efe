"""``audit.budget_alerts``: the record of every alert fired, and the dedupe key.

The table lives in the warehouse beside dbt's audit views but is not a dbt model: dbt never
rebuilds or drops it, so the record (and the dedupe) survives every build, a full refresh and a
restart of Dagster. Only the budget-alerts asset writes it, inside the ``warehouse_writer`` pool.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

import duckdb

from orchestration.alerts.rules import Alert, to_send

TABLE = "audit.budget_alerts"

DDL = f"""
create schema if not exists audit;
create table if not exists {TABLE} (
    alert_id varchar primary key,
    scope varchar not null,
    scope_id varchar not null,
    customer_id varchar,
    threshold varchar not null,
    severity varchar not null,
    period_start date not null,
    period_grain varchar not null,
    as_of timestamp not null,
    spend_usd decimal(24, 12),
    budget_usd decimal(24, 12),
    share_used double,
    projected_spend_usd decimal(24, 12),
    projected_share double,
    fired_at timestamp not null,
    delivery varchar not null,
    message varchar not null,
    payload varchar not null
)
"""


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def find_new_alerts(
    con: duckdb.DuckDBPyConnection, alerts: Iterable[Alert]
) -> list[tuple[Alert, bool]]:
    """The alerts not recorded yet, each with whether it is to be delivered (False: superseded
    by a more severe threshold of the same scope and period among the new ones)."""
    ensure_table(con)
    by_id = {alert.alert_id: alert for alert in alerts}
    if not by_id:
        return []
    known = {
        row[0]
        for row in con.execute(
            f"select alert_id from {TABLE} where alert_id in (select unnest(?))", [list(by_id)]
        ).fetchall()
    }
    new = [alert for alert_id, alert in by_id.items() if alert_id not in known]
    deliver = to_send(new)
    return [(alert, alert.alert_id in deliver) for alert in new]


def insert_alerts(
    con: duckdb.DuckDBPyConnection,
    new: list[tuple[Alert, bool]],
    fired_at: datetime | None = None,
) -> None:
    """Record alerts (one transaction); an alert already recorded is left as it is."""
    if not new:
        return
    ensure_table(con)
    fired_at = (fired_at or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    rows = [
        (
            alert.alert_id,
            alert.scope,
            alert.scope_id,
            alert.customer_id,
            alert.threshold,
            alert.severity,
            alert.period_start,
            alert.period_grain,
            alert.as_of,
            alert.spend_usd,
            alert.budget_usd,
            alert.share_used,
            alert.projected_spend_usd,
            alert.projected_share,
            fired_at,
            "outbox" if deliver else "superseded",
            alert.text(),
            json.dumps(alert.payload()),
        )
        for alert, deliver in new
    ]
    con.execute("begin transaction")
    try:
        con.executemany(
            f"insert or ignore into {TABLE} values "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
