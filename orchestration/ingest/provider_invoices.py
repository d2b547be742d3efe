"""The provider invoices (landing/provider_invoices): their columns and file names.

A provider invoice export is a CSV with one line per provider, month and model: what the provider
billed (``amount_usd``) and for how many requests (docs/provider-reconciliation.md). The
table-export loader (``table_exports``) does the work (validation in one SQL pass, quarantine with
file, row and reason, once per content); this module only declares the columns.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from orchestration.contract import Field, column
from orchestration.ingest.table_exports import TableExports, TableFileLoad, load_table_exports

COLUMNS: list[Field] = [
    column("provider", "string", True),
    column("invoice_month", "month", True),
    column("model", "string", True),
    column("requests", "integer", minimum=0),
    column("amount_usd", "signed_decimal", True),
    column("currency", "enum", True, enum=("usd",)),
]


def _entity_of(path: Path) -> str | None:
    return "lines" if path.name.lower().endswith(".csv") else None


PROVIDER_INVOICES = TableExports(
    "provider_invoices", {"lines": COLUMNS}, _entity_of, "<provider>-<YYYY-MM>.csv"
)


def load_provider_invoices(
    landing: Path, lake_root: Path, *, now: datetime | None = None
) -> list[TableFileLoad]:
    return load_table_exports(landing, lake_root, PROVIDER_INVOICES, now=now)
