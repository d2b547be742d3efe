"""What the sample generator wrote into landing about customers, read from the files themselves
(never from the warehouse), for tests that check names reach the screens."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from orchestration.paths import DataPaths


def _stripe_customers(folder: Path):
    for path in sorted(folder.glob("customers*.json")):
        document = json.loads(path.read_text())
        yield from document["data"] if document.get("object") == "list" else [document]


def landed_customer_names(data: DataPaths) -> dict[str, str]:
    """customer_id → customer_name from the billing CSV exports and the Stripe customer pages in
    landing (a Stripe customer's id is its metadata's llm_margin_customer_id, else its own)."""
    names: dict[str, str] = {}
    for path in sorted(data.landing_for("billing").glob("customers*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row.get("customer_name"):
                    names[row["customer_id"]] = row["customer_name"]
    for customer in _stripe_customers(data.landing_for("stripe")):
        if customer.get("name"):
            key = (customer.get("metadata") or {}).get("llm_margin_customer_id") or customer["id"]
            names[key] = customer["name"]
    return names


def landed_workspaces(data: DataPaths) -> dict[str, tuple[str, str]]:
    """workspace_id → (workspace_name, customer_id) from the workspaces export."""
    with open(data.landing_for("billing") / "workspaces.csv", newline="", encoding="utf-8") as f:
        return {
            row["workspace_id"]: (row["workspace_name"], row["customer_id"])
            for row in csv.DictReader(f)
        }
