"""Load provider invoices (landing/provider_invoices) into the lake, with quarantine.

A provider invoice export is a CSV with one line per provider, month and model: what the provider
billed (``amount_usd``) and for how many requests (docs/provider-reconciliation.md). The billing
loader does the work (validation in one SQL pass, quarantine with file, row and reason, once per
content); this module only declares the columns.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from orchestration.ingest.billing import BillingFileLoad, TableExports, load_billing

COLUMNS: list[tuple[str, str, bool]] = [
    ("provider", "string", True),
    ("invoice_month", "month", True),
    ("model", "string", True),
    ("requests", "integer", False),
    ("amount_usd", "signed_decimal", True),
    ("currency", "enum:usd", True),
]


def _entity_of(path: Path) -> str | None:
    return "lines" if path.name.lower().endswith(".csv") else None


PROVIDER_INVOICES = TableExports(
    "provider_invoices", {"lines": COLUMNS}, _entity_of, "<provider>-<YYYY-MM>.csv"
)


def load_provider_invoices(
    landing: Path, lake_root: Path, *, now: datetime | None = None
) -> list[BillingFileLoad]:
    return load_billing(landing, lake_root, now=now, exports=PROVIDER_INVOICES)
