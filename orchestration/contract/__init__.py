"""The usage-event contract, read from the versioned JSON Schema beside this file.

The schema is the single source of truth: ingestion derives its field lists, types and enums
from it, so the documentation (docs/usage-events.md) and the code cannot drift apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("usage_event.v1.schema.json")

TIMESTAMP_FIELDS = ("occurred_at", "emitted_at")
# Required on a task's first attempt (no parent_event_id, attempt 1 or absent); later attempts inherit.
TASK_TAG_FIELDS = ("customer_id", "workspace_id", "feature")


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # "string" | "integer" | "timestamp"
    required: bool
    enum: tuple[str, ...] | None
    description: str


@cache
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


@cache
def fields() -> tuple[Field, ...]:
    doc = schema()
    required = set(doc["required"])
    out = []
    for name, spec in doc["properties"].items():
        types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
        if "integer" in types:
            kind = "integer"
        elif spec.get("format") == "date-time":
            kind = "timestamp"
        else:
            kind = "string"
        enum = tuple(v for v in spec.get("enum", []) if v is not None) or None
        out.append(Field(name, kind, name in required, enum, spec.get("description", "")))
    return tuple(out)


def field_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields())


def contract_version() -> int:
    return int(schema()["x-contract-version"])
