"""Column specs for everything ingestion validates: the usage-event contract and the table exports.

The usage-event contract is read from the versioned JSON Schema beside this file. The schema is
the single source of truth: ingestion derives its field lists, types, enums and bounds
(``minimum``, ``minLength``) from it, so the documentation (docs/usage-events.md) and the code
cannot drift apart.

Table exports (billing entities, provider invoice lines) are declared in Python with the same
``Field`` type and the same vocabulary of kinds (``KINDS``), so one rule builder
(``orchestration/ingest/rules.py``) validates both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("usage_event.v1.schema.json")

TIMESTAMP_FIELDS = ("occurred_at", "emitted_at")
# Required on a task's first attempt (no parent_event_id, attempt 1 or absent); later attempts inherit.
TASK_TAG_FIELDS = ("customer_id", "workspace_id", "feature")

# kind -> the SQL type of its typed value. What each kind accepts:
#   string          any text
#   enum            one of ``Field.enum`` (case-insensitive)
#   integer         a whole number (JSON: a number with no fraction; text: digits, optional sign)
#   decimal         a decimal number, at most 6 decimal places kept
#   signed_decimal  the same as decimal, declared where a negative amount is normal (credits)
#   percent         a decimal number of percent (4 decimal places)
#   rate            a decimal number, at most 8 decimal places kept (exchange rates)
#   amount          a signed decimal number kept to 12 decimal places (provider report amounts:
#                   OpenAI's float dollars, Anthropic's fractional cents); more places are rounded
#   timestamp       ISO-8601 (offset or Z; no offset means UTC)
#   date            YYYY-MM-DD
#   month           YYYY-MM
# Bounds are not implied by a kind: they are the field's ``minimum`` / ``exclusive_minimum`` /
# ``maximum`` / ``exclusive_maximum``; a text format is its ``pattern``.
KINDS: dict[str, str] = {
    "string": "varchar",
    "enum": "varchar",
    "integer": "bigint",
    "decimal": "decimal(18, 6)",
    "signed_decimal": "decimal(18, 6)",
    "percent": "decimal(9, 4)",
    "rate": "decimal(18, 8)",
    "amount": "decimal(24, 12)",
    "timestamp": "timestamptz",
    "date": "date",
    "month": "varchar",
}


@dataclass(frozen=True)
class Field:
    """One column: its kind (a key of ``KINDS``), whether it is required, and its bounds."""

    name: str
    kind: str
    required: bool = False
    enum: tuple[str, ...] | None = None
    description: str = ""
    minimum: Decimal | None = None  # inclusive, as JSON Schema's ``minimum``
    exclusive_maximum: Decimal | None = None  # as JSON Schema's ``exclusiveMaximum``
    min_length: int | None = None  # as JSON Schema's ``minLength``
    exclusive_minimum: Decimal | None = None  # as JSON Schema's ``exclusiveMinimum``
    # as JSON Schema's ``pattern``: a regular expression the whole text matches
    pattern: str | None = None
    maximum: Decimal | None = None  # inclusive, as JSON Schema's ``maximum``

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"{self.name}: unknown kind {self.kind!r}; expected one of {list(KINDS)}"
            )
        if (self.kind == "enum") != bool(self.enum):
            raise ValueError(f"{self.name}: an enum field needs its values, and only it has them")

    @property
    def sql_type(self) -> str:
        return KINDS[self.kind]


def column(
    name: str,
    kind: str,
    required: bool = False,
    *,
    minimum: float | int | str | None = None,
    exclusive_minimum: float | int | str | None = None,
    exclusive_maximum: float | int | str | None = None,
    enum: tuple[str, ...] | None = None,
    pattern: str | None = None,
    description: str = "",
) -> Field:
    """A table-export column (bounds given as numbers, kept exactly as decimals)."""
    return Field(
        name,
        kind,
        required,
        enum,
        description,
        _number(minimum),
        _number(exclusive_maximum),
        exclusive_minimum=_number(exclusive_minimum),
        pattern=pattern,
    )


@cache
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


def _number(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def field_from_schema(name: str, spec: dict, required: bool) -> Field:
    """One JSON Schema property as a ``Field``."""
    types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    enum = tuple(v for v in spec.get("enum", []) if v is not None) or None
    if "integer" in types:
        kind = "integer"
    elif "number" in types:
        kind = "signed_decimal"
    elif spec.get("format") == "date-time":
        kind = "timestamp"
    elif enum:
        kind = "enum"
    else:
        kind = "string"
    return Field(
        name,
        kind,
        required,
        enum,
        spec.get("description", ""),
        _number(spec.get("minimum")),
        _number(spec.get("exclusiveMaximum")),
        spec.get("minLength"),
        maximum=_number(spec.get("maximum")),
    )


@cache
def fields() -> tuple[Field, ...]:
    doc = schema()
    required = set(doc["required"])
    return tuple(
        field_from_schema(name, spec, name in required) for name, spec in doc["properties"].items()
    )


def field_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields())


def contract_version() -> int:
    return int(schema()["x-contract-version"])
