"""The billing exports (plans, customers, workspaces, invoices): their columns and file names.

Each ``landing/billing/<entity>*.csv`` is a full export of that entity (docs/billing-exports.md).
The table-export loader (``table_exports``) does the work: each file once per content, validated
row by row in one SQL pass, good rows to ``lake/billing/<entity>/``, bad ones to
``lake/quarantine/billing/`` with file, row, raw text and reason. The warehouse uses the latest
export of each entity; older ones stay for history. This module only declares the columns.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from orchestration.contract import Field, column
from orchestration.ingest.table_exports import TableExports, TableFileLoad, load_table_exports

ENTITIES: dict[str, list[Field]] = {
    "plans": [
        column("plan_id", "string", True),
        column("plan_name", "string"),
        column("price_per_month_usd", "decimal", True, minimum=0),
        column("target_gross_margin_pct", "percent", True, minimum=0, exclusive_maximum=100),
        column("included_tasks", "integer", minimum=0),
        column("overage_per_task_usd", "decimal", minimum=0),
        column("seats_included", "integer", minimum=0),
    ],
    "customers": [
        column("customer_id", "string", True),
        column("customer_name", "string"),
        column("plan_id", "string", True),
        column("signed_up_at", "timestamp", True),
        column("utm_source", "string"),
        column("utm_medium", "string"),
        column("utm_campaign", "string"),
    ],
    "workspaces": [
        column("workspace_id", "string", True),
        column("customer_id", "string", True),
        column("workspace_name", "string"),
        column("monthly_hard_cap_usd", "decimal", minimum=0),
    ],
    "invoices": [
        column("invoice_id", "string", True),
        column("customer_id", "string", True),
        column("invoice_month", "month", True),
        column("plan_id", "string"),
        column("amount_usd", "signed_decimal", True),  # a credit note is negative
        column("status", "enum", True, enum=("paid", "open", "void")),
    ],
}


def entity_of(path: Path) -> str | None:
    name = path.name.lower()
    if not name.endswith(".csv"):
        return None
    return next((e for e in ENTITIES if name.startswith(e)), None)


BILLING = TableExports(
    "billing",
    ENTITIES,
    entity_of,
    "plans*.csv, customers*.csv, workspaces*.csv or invoices*.csv",
)


def load_billing(
    landing: Path, lake_root: Path, *, now: datetime | None = None
) -> list[TableFileLoad]:
    return load_table_exports(landing, lake_root, BILLING, now=now)
