"""Dagster assets: the budget alerts (audit.budget_alerts + webhook outbox) and the gateway cap
list file ($LLM_MARGIN_DATA_DIR/serving/gateway_caps.json)."""

import json
import os
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from orchestration.alerts.evaluate import evaluate
from orchestration.alerts.outbox import Outbox, outbox_path
from orchestration.data_lock import writer_step
from orchestration.dbt.assets import model_key
from orchestration.pools import WAREHOUSE_POOL
from orchestration.settings import Settings

BUDGET_STATUS = model_key("mart_budget_status")
GATEWAY_CAPS = model_key("mart_gateway_caps")
RUNAWAY_WORKSPACES = model_key("mart_runaway_workspaces")
FCT_TASKS = model_key("fct_tasks")
BUDGET_ALERTS = AssetKey(["audit", "budget_alerts"])
GATEWAY_CAPS_FILE = AssetKey(["serving", "gateway_caps_json"])
GATEWAY_CAPS_FILENAME = "gateway_caps.json"
CAP_LIST_VERSION = 1


@asset(
    key=BUDGET_ALERTS,
    deps=[BUDGET_STATUS, GATEWAY_CAPS, RUNAWAY_WORKSPACES, FCT_TASKS],
    group_name="audit",  # the record of every alert fired, beside the other audit tables
    kinds={"duckdb", "webhook"},
    pool=WAREHOUSE_POOL,
    description=(
        "Budget and abuse alerts (docs/budgets.md): each (scope, scope_id, threshold, period) "
        "fires once, ever, recorded in audit.budget_alerts (a table dbt does not manage); the "
        "ones to send are queued in the webhook outbox ($LLM_MARGIN_DATA_DIR/alerts/outbox.sqlite3) "
        "and delivered to $LLM_MARGIN_ALERT_WEBHOOK_URL until acknowledged."
    ),
)
@writer_step
def budget_alerts(context: AssetExecutionContext, settings: Settings) -> MaterializeResult:
    paths = settings.paths()
    result = evaluate(paths.warehouse, Outbox(outbox_path()), webhook_url=settings.webhook_url())
    for alert in result.fired:
        context.log.info(f"alert {alert.threshold}: {alert.text()}")
    delivery = result.delivery.summary() if result.delivery else "not attempted"
    context.log.info(f"webhook: {delivery}")
    table = ["| scope | id | threshold | period | sent |", "|---|---|---|---|---|"]
    queued = {a.alert_id for a in result.queued}
    table += [
        f"| {a.scope} | {a.scope_id} | {a.threshold} | {a.period_start} | "
        f"{'yes' if a.alert_id in queued else 'superseded'} |"
        for a in result.fired
    ]
    return MaterializeResult(
        metadata={
            "alerts_current": result.candidates,
            "alerts_fired": len(result.fired),
            "alerts_queued": len(result.queued),
            "webhook": delivery,
            "fired": MetadataValue.md("\n".join(table)),
        }
    )


def _json_value(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):  # warehouse timestamps are naive UTC
        return value.isoformat() + "Z" if value.tzinfo is None else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def read_gateway_caps(warehouse: Path) -> dict:
    """The cap list document (docs/budgets.md, "Gateway cap list")."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(
            "select scope, scope_id as id, customer_id, reason, since, period_start, spend_usd, "
            "cap_usd from marts.mart_gateway_caps order by scope, scope_id, reason"
        )
        names = [d[0] for d in cursor.description]
        caps = [
            {name: _json_value(value) for name, value in zip(names, row, strict=True)}
            for row in cursor.fetchall()
        ]
        as_of = con.execute("select max(as_of) from marts.mart_budget_status").fetchone()[0]
    return {
        "version": CAP_LIST_VERSION,
        "generated_at": datetime.now(UTC).isoformat(),
        "as_of": _json_value(as_of),
        "caps": caps,
    }


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, then rename it over ``path``:
    a reader sees the old list or the new one, never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@asset(
    key=GATEWAY_CAPS_FILE,
    deps=[GATEWAY_CAPS, BUDGET_STATUS],
    group_name="serving",
    kinds={"json"},
    pool=WAREHOUSE_POOL,
    description=(
        "marts.mart_gateway_caps as $LLM_MARGIN_DATA_DIR/serving/gateway_caps.json, replaced "
        "atomically after every build: what the gateway must stop (docs/budgets.md)."
    ),
)
@writer_step
def gateway_caps_json(settings: Settings) -> MaterializeResult:
    paths = settings.paths()
    document = read_gateway_caps(paths.warehouse)
    target = paths.serving / GATEWAY_CAPS_FILENAME
    write_atomically(target, json.dumps(document, indent=2) + "\n")
    reasons: dict[str, int] = {}
    for cap in document["caps"]:
        reasons[cap["reason"]] = reasons.get(cap["reason"], 0) + 1
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(target)),
            "caps": len(document["caps"]),
            "by_reason": MetadataValue.json(reasons),
            "as_of": str(document["as_of"]),
        }
    )
