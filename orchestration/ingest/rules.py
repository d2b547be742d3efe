"""The one SQL rule builder every loader validates with.

A ``Rule`` is a named check on a record: a SQL condition over the record's columns, the error it
gives (``code``, ``field``, a SQL ``message``), a priority (a lower one is reported first, so the
most basic fault leads) and a ``Severity``:

* ``QUARANTINE``: the record is rejected; it goes to quarantine with every fault found, and the
  rest of its file loads (usage events, billing exports, provider invoices).
* ``REJECT_FILE``: the whole file is refused and nothing of it loads (pricing files: one bad
  price would poison every cost computed from the file).

``findings_sql`` turns rules of one severity into one column expression: a list of
``{code, field, message}`` structs, empty when the record passes. Every rule stays a vectorised
SQL expression; no Python runs per record.

The rules that follow from a column's spec (``orchestration.contract.Field``) are built here too,
so usage events and table exports share them: whole numbers, bounds from ``minimum`` /
``maximum`` / ``exclusive_maximum``, enums.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from orchestration.contract import Field
from orchestration.sql_text import literal


class Severity(StrEnum):
    QUARANTINE = "quarantine"  # the record is rejected, the rest of the file loads
    REJECT_FILE = "reject_file"  # the whole file is rejected


ERROR_TYPE = "struct(code varchar, field varchar, message varchar)"

# A count written as text (CSV cells) is a whole number only when it is digits with an optional
# sign: "1.5", "2.0", "1_000", "0x10" and "1e3" are not, though DuckDB's cast accepts (and rounds)
# them. JSON numbers follow JSON Schema instead: 2.0 is the integer 2, 1.5 is not an integer.
WHOLE_NUMBER_TEXT = "[+-]?[0-9]+"
# An amount written as text is plain decimal notation: "12", "12.5", "-0.25", ".5". Exponents
# ("1e3"), digit separators ("1_000", "1,000") and more fraction digits than the column keeps
# (which a cast would round) are not amounts; DuckDB's cast accepts the first two.
DECIMAL_TEXT = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)"

# An ISO-8601 timestamp as text (docs/usage-events.md): a date, 'T' or a space, hh:mm with
# optional seconds and fraction, then Z, an offset (+hh:mm, +hhmm, +hh) or nothing (UTC).
# DuckDB's cast alone reads more ("epoch", "infinity", a bare date, "+25:00", a zone name),
# which is not a timestamp the contract names; only text of this shape is cast.
ISO_TIMESTAMP_TEXT = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?"
    r"(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?"
)
# An export's timestamp cell (billing, provider reports; docs/billing-exports.md) may also be
# a date alone, read as its 00:00 UTC.
ISO_DATE_TEXT = "[0-9]{4}-[0-9]{2}-[0-9]{2}"

# The code for a value below its field's ``minimum``: ``negative_value`` for a minimum of 0, and
# ``below_minimum`` otherwise, except for the codes that predate the generic rule (documented in
# docs/usage-events.md and read by users' alerting).
BELOW_MINIMUM_CODES = {"attempt": "invalid_attempt"}


def q(text: str) -> str:
    """A SQL string literal (orchestration.sql_text.literal)."""
    return literal(text)


def shown(value_sql: str) -> str:
    """A value as quoted in an error message, cut to 60 characters."""
    return f"coalesce('\"' || left({value_sql}, 60) || '\"', 'null')"


@dataclass(frozen=True)
class Rule:
    code: str
    field: str | None
    condition: str  # SQL boolean over the record; null means the rule does not apply
    message: str  # SQL varchar expression
    priority: int = 50
    severity: Severity = Severity.QUARANTINE

    def error_sql(self) -> str:
        """The error struct when the condition holds, else null."""
        field_sql = q(self.field) if self.field else "null::varchar"
        return (
            f"case when {self.condition} then struct_pack(code := {q(self.code)}, "
            f"field := {field_sql}, message := {self.message}) end"
        )


def findings_sql(rules: list[Rule], severity: Severity = Severity.QUARANTINE) -> str:
    """The list of errors the rules of ``severity`` find in a record (``[]`` when none do).

    Most records are good: every condition is tested once, and the error list is built only for
    the records where one holds (building ~100 structs per record is the expensive part).
    """
    chosen = sorted((r for r in rules if r.severity == severity), key=lambda r: r.priority)
    if not chosen:
        return f"[]::{ERROR_TYPE}[]"
    any_error = any_finding_sql(chosen, severity)
    error_list = ",\n            ".join(r.error_sql() for r in chosen)
    return f"""case when
            {any_error}
        then list_filter([
            {error_list}
        ], lambda e: e is not null)
        else []::{ERROR_TYPE}[]
        end"""


def any_finding_sql(rules: list[Rule], severity: Severity = Severity.QUARANTINE) -> str:
    """Whether any rule of ``severity`` holds for a record: one boolean, never null.

    Cheaper than ``findings_sql`` by far when a loader needs only to split good records from
    bad ones and builds the error lists afterwards over the bad ones alone (usage events)."""
    chosen = [r for r in rules if r.severity == severity]
    if not chosen:
        return "false"
    return "(" + "\n            or ".join(f"coalesce({r.condition}, false)" for r in chosen) + ")"


def whole_number_from_text(text_sql: str) -> str:
    """The bigint a text cell holds, or null when it is not a whole number (or out of range)."""
    return (
        f"case when regexp_full_match({text_sql}, {q(WHOLE_NUMBER_TEXT)}) "
        f"then try_cast({text_sql} as bigint) end"
    )


def timestamp_from_text(text_sql: str) -> str:
    """The timestamptz an export's text cell holds (``ISO_TIMESTAMP_TEXT`` or a date alone,
    ``ISO_DATE_TEXT``), or null when it is other text, though DuckDB's cast would read it
    (``infinity``, ``epoch``, ``2025-3-1``, a zone name, ``24:00``) or names no real time."""
    shapes = f"({ISO_TIMESTAMP_TEXT})|({ISO_DATE_TEXT})"
    return (
        f"case when regexp_full_match({text_sql}, {q(shapes)}) "
        f"then try_cast({text_sql} as timestamptz) end"
    )


def decimal_from_text(text_sql: str, sql_type: str) -> str:
    """The ``decimal(p, s)`` a text cell holds, or null when it is not plain decimal notation
    with at most ``s`` fraction digits (or does not fit)."""
    scale = int(sql_type.rstrip(")").split(",")[1])
    return (
        f"case when regexp_full_match({text_sql}, {q(DECIMAL_TEXT)}) "
        f"and length(split_part({text_sql}, '.', 2)) <= {scale} "
        f"then try_cast({text_sql} as {sql_type}) end"
    )


def below_minimum_code(spec: Field) -> str:
    if spec.name in BELOW_MINIMUM_CODES:
        return BELOW_MINIMUM_CODES[spec.name]
    return "negative_value" if spec.minimum == 0 else "below_minimum"


def bound_rules(spec: Field, value_sql: str, shown_sql: str, *, priority: int = 40) -> list[Rule]:
    """The rules a field's ``minimum``, ``exclusive_minimum``, ``maximum`` and
    ``exclusive_maximum`` state, over its typed value. An inclusive ``maximum`` is a rule of its
    own (``out_of_range``), so the code for a value below the minimum stays what it was."""
    low, high = spec.minimum, spec.exclusive_maximum
    name = spec.name
    if spec.maximum is not None:
        return [
            Rule(
                "out_of_range",
                name,
                f"{value_sql} > {spec.maximum}",
                q(f"{name} must be at most {spec.maximum}, got ") + f" || {shown_sql}",
                priority,
            )
        ] + bound_rules(replace(spec, maximum=None), value_sql, shown_sql, priority=priority)
    above = spec.exclusive_minimum
    if above is not None:
        wanted = "must be positive" if above == 0 else f"must be above {above}"
        return [
            Rule(
                "non_positive_value" if above == 0 else "below_minimum",
                name,
                f"{value_sql} <= {above}",
                q(f"{name} {wanted}, got ") + f" || {shown_sql}",
                priority,
            )
        ] + bound_rules(
            replace(spec, exclusive_minimum=None), value_sql, shown_sql, priority=priority
        )
    if low is not None and high is not None:
        return [
            Rule(
                "out_of_range",
                name,
                f"({value_sql} < {low} or {value_sql} >= {high})",
                q(f"{name} must be in [{low}, {high}), got ") + f" || {shown_sql}",
                priority,
            )
        ]
    if high is not None:
        return [
            Rule(
                "out_of_range",
                name,
                f"{value_sql} >= {high}",
                q(f"{name} must be below {high}, got ") + f" || {shown_sql}",
                priority,
            )
        ]
    if low is not None:
        wanted = "must not be negative" if low == 0 else f"must be {low} or more"
        return [
            Rule(
                below_minimum_code(spec),
                name,
                f"{value_sql} < {low}",
                q(f"{name} {wanted}, got ") + f" || {shown_sql}",
                priority,
            )
        ]
    return []


def enum_rule(spec: Field, text_sql: str, *, when: str = "true", priority: int = 40) -> Rule:
    """The text, trimmed and case-insensitively, is one of the field's ``enum`` values."""
    assert spec.enum, spec.name
    allowed = ", ".join(q(e) for e in spec.enum)
    return Rule(
        "unknown_value",
        spec.name,
        f"{when} and lower(trim({text_sql})) not in ({allowed})",
        q(f"{spec.name} must be one of {', '.join(spec.enum)}; got ") + " || " + shown(text_sql),
        priority,
    )


def substitute(sql: str, params: dict) -> str:
    """Replace each ``$name`` in ``sql`` with ``params[name]`` as a quoted SQL string literal."""
    for key, value in params.items():
        sql = sql.replace(f"${key}", literal(str(value)))
    return sql
