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
from orchestration.ingest.currencies import unknown_currency_rule
from orchestration.ingest.readers import CSV_CELLS_MARK
from orchestration.ingest.rules import Rule, q
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
        # A credit note is negative. amount_usd is the older layout's amount (USD only); amount
        # with currency carries any currency (docs/billing-exports.md).
        column("amount_usd", "signed_decimal"),
        column("status", "enum", True, enum=("paid", "open", "void", "uncollectible")),
        column("currency", "string"),
        column("amount", "signed_decimal"),
    ],
}

# An invoice needs an amount in its currency: ``amount``, or ``amount_usd`` when the invoice is in
# USD (no currency given means USD). A EUR invoice with only amount_usd is refused: llm-margin
# converts with the ECB's rates itself, it does not guess which rate an export used.
INVOICE_RULES = (
    Rule(
        "missing_required",
        "amount",
        f"not starts_with(raw, {q(CSV_CELLS_MARK)}) and s_amount is null "
        "and (s_amount_usd is null or upper(coalesce(s_currency, 'USD')) != 'USD')",
        "'amount is required (amount_usd is read only for an invoice in USD); currency is ' "
        "|| coalesce(upper(s_currency), 'USD')",
        10,
    ),
    unknown_currency_rule("currency", "s_currency"),
)


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
    entity_rules={"invoices": INVOICE_RULES},
)


def load_billing(
    landing: Path, lake_root: Path, *, now: datetime | None = None
) -> list[TableFileLoad]:
    return load_table_exports(landing, lake_root, BILLING, now=now)
