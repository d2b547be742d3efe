"""The dbt descriptions of the served tables and their columns, from the dbt manifest: what the
PostgreSQL serving target writes as table and column comments, which BI tools show."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.serving.publish import SERVED_SCHEMAS


@dataclass(frozen=True)
class TableDescription:
    description: str
    columns: dict[str, str] = field(default_factory=dict)  # lower-case column name → description


Descriptions = dict[tuple[str, str], TableDescription]  # (schema, table) → its description


def descriptions_from_manifest(
    manifest_path: Path, schemas: tuple[str, ...] = SERVED_SCHEMAS
) -> Descriptions:
    """Every dbt model of ``schemas`` with its description and its described columns; empty
    descriptions are left out. A missing manifest gives no descriptions (nothing to say)."""
    if not manifest_path.exists():
        return {}
    manifest = json.loads(manifest_path.read_text())
    found: Descriptions = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") not in ("model", "seed", "snapshot"):
            continue
        if node.get("schema") not in schemas:
            continue
        columns = {
            name.lower(): column["description"].strip()
            for name, column in node.get("columns", {}).items()
            if (column.get("description") or "").strip()
        }
        name = node.get("alias") or node["name"]
        found[(node["schema"], name)] = TableDescription(
            (node.get("description") or "").strip(), columns
        )
    return found
