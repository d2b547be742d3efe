"""What the usage-event contract says about a record, decided without the project's validator.

The property tests (tests/test_contract_properties.py) load generated records through ingestion
and compare what happened with the verdict of this module. It reads the contract's JSON Schema
file itself and checks a record with the ``jsonschema`` package (the draft the schema declares);
the rules the schema cannot state are written here from the words of docs/usage-events.md, not
taken from ``orchestration.ingest``. Nothing here imports the validator or its rules.

A verdict is the set of rules a record breaks, each as (reason code, field), split in two:

* ``broken``: rules the record surely breaks; the quarantine must list every one of them;
* ``maybe``: rules over a value that is itself broken (a cross-field rule over a count that is
  not a number, a first-attempt rule when ``attempt`` is not a number): the doc does not say
  whether such a rule applies, so the validator may report it or not.

A record with no broken rule must load with exactly the values ``expected_row`` gives.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema

SCHEMA_PATH = (
    Path(__file__).resolve().parent.parent
    / "orchestration"
    / "contract"
    / "usage_event.v1.schema.json"
)
SCHEMA: dict = json.loads(SCHEMA_PATH.read_text())
# The draft the schema's "$schema" names (2020-12); format is an annotation there, not asserted:
# what a timestamp is comes from the doc (``parse_timestamp``).
VALIDATOR = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)
PROPERTIES: dict[str, dict] = SCHEMA["properties"]
REQUIRED: tuple[str, ...] = tuple(SCHEMA["required"])


def _types(spec: dict) -> list[str]:
    return spec["type"] if isinstance(spec["type"], list) else [spec["type"]]


COUNT_FIELDS = tuple(n for n, s in PROPERTIES.items() if "integer" in _types(s))
TIMESTAMP_FIELDS = tuple(n for n, s in PROPERTIES.items() if s.get("format") == "date-time")
ENUM_FIELDS = {
    n: [v for v in s["enum"] if v is not None] for n, s in PROPERTIES.items() if "enum" in s
}
STRING_FIELDS = tuple(n for n in PROPERTIES if n not in COUNT_FIELDS)

# docs/usage-events.md, "What happens to a bad record": a timestamp before 2015-01-01, or more
# than LLM_MARGIN_MAX_FUTURE_HOURS (default 24) ahead of the load time.
EARLIEST = datetime(2015, 1, 1, tzinfo=UTC)
MAX_FUTURE = timedelta(hours=24)
# docs/usage-events.md, "Whole numbers": a count is stored as a 64-bit integer; one beyond that
# range is not a whole number the warehouse can hold (wrong_type), in every format.
INT64 = range(-(2**63), 2**63)
# "A task's first attempt ... carries customer_id, workspace_id and feature".
TASK_TAGS = ("customer_id", "workspace_id", "feature")
# Cross-field rules name their rule by the code alone: the doc names no single field for them.
CROSS_FIELD_CODES = {"cached_exceeds_prompt", "reasoning_exceeds_completion"}

# docs/usage-events.md: "ISO-8601 ... With an offset (+02:00) or Z; without one it is read as
# UTC". The forms ISO-8601 gives a timestamp: a date, 'T' (or, as RFC 3339 allows, a space),
# hh:mm with optional seconds and fraction, then Z, +hh:mm, +hhmm, +hh or nothing. The fraction
# is kept to the microsecond, the warehouse's precision (further digits are dropped). A bare
# date, a zone name or a word ("epoch") is not a timestamp.
ISO_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)?"
)
# "a count as digits with an optional sign", "after trimming spaces" (CSV cells).
CSV_WHOLE_NUMBER = re.compile(r" *[+-]?[0-9]+ *")


def parse_timestamp(text: str) -> datetime | None:
    """The instant an ISO-8601 text names, or None when it names none."""
    m = ISO_TIMESTAMP.fullmatch(text.strip(" "))
    if not m:
        return None
    year, month, day, hour, minute = (int(g) for g in m.groups()[:5])
    second = int(m.group(6) or 0)
    micro = int((m.group(7) or "")[:6].ljust(6, "0"))
    offset = m.group(8)
    if offset in (None, "Z"):
        tz = UTC
    else:
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:] or 0)
        if hours > 23 or minutes > 59:
            return None
        tz = timezone_of(sign * timedelta(hours=hours, minutes=minutes))
    try:
        local = datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError:  # 2025-02-30, hour 25, ...
        return None
    return local.astimezone(UTC)


def timezone_of(delta: timedelta):
    from datetime import timezone

    return timezone(delta)


def blank(value) -> bool:
    """ "Missing or empty": absent, null, or text of spaces only."""
    return value is None or (isinstance(value, str) and value.strip(" ") == "")


def whole_number(value) -> int | None:
    """A JSON value as the count it is (JSON Schema's integer: 12 and 12.0), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return 2**63  # a whole number, beyond the warehouse's 64-bit integers
    return None


@dataclass
class Verdict:
    broken: set[tuple[str, str | None]] = field(default_factory=set)
    maybe: set[tuple[str, str | None]] = field(default_factory=set)
    # when nothing is broken: the lake row's contract fields and attributes
    row: dict | None = None

    @property
    def accepted(self) -> bool:
        return not self.broken


def judge_json_line(raw: bytes) -> Verdict:
    """One line of a JSON Lines file (its bytes, without the newline)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Verdict({("invalid_encoding", None)})
    text = text.rstrip("\r")
    if text.strip(" ") == "":
        return Verdict({("empty_record", None)})
    try:
        value = json.loads(text, parse_constant=_not_json)
    except ValueError:
        return Verdict({("bad_json", None)})
    if not isinstance(value, dict):
        return Verdict({("not_an_object", None)})
    return judge_record(value)


def _not_json(name: str):
    raise ValueError(f"{name} is not JSON")


def judge_record(record: dict, *, instants: dict[str, datetime] | None = None) -> Verdict:
    """A record (a JSON object as Python values). ``instants``: timestamp fields given as an
    instant rather than text (a Parquet timestamp column)."""
    instants = instants or {}
    broken: set[tuple[str, str | None]] = set()
    maybe: set[tuple[str, str | None]] = set()
    typed: dict[str, object] = {}
    bad_type: set[str] = set()

    by_field: dict[str, list] = {}
    # An instant stands for a valid timestamp text as far as the schema goes.
    for error in VALIDATOR.iter_errors({**record, **dict.fromkeys(instants, "instant")}):
        if error.validator == "required":
            for name in error.validator_value:
                if name not in error.instance:
                    broken.add(("missing_required", name))
            continue
        by_field.setdefault(error.path[0], []).append(error)

    for name in PROPERTIES:
        if name not in record and name not in instants:
            continue
        value = record.get(name)
        errors = {e.validator: e for e in by_field.get(name, [])}
        if name in REQUIRED and (blank(value) and name not in instants):
            broken.add(("missing_required", name))  # "a required field missing or empty"
            continue
        if name in instants:
            typed[name] = _judge_instant(name, instants[name], broken)
            continue
        if "type" in errors:
            broken.add(("wrong_type", name))
            bad_type.add(name)
            continue
        if name in COUNT_FIELDS:
            number = whole_number(value)
            if value is not None and number not in INT64:
                broken.add(("wrong_type", name))
                bad_type.add(name)
                continue
            typed[name] = number
            if "minimum" in errors:
                broken.add(("invalid_attempt" if name == "attempt" else "negative_value", name))
            if "maximum" in errors:
                broken.add(("out_of_range", name))
        elif name in TIMESTAMP_FIELDS:
            if blank(value):  # an optional timestamp left empty is absent
                typed[name] = None
                continue
            instant = parse_timestamp(value)
            if instant is None:
                broken.add(("invalid_timestamp", name))
                bad_type.add(name)
                continue
            typed[name] = _judge_instant(name, instant, broken)
        elif name in ENUM_FIELDS:
            # The doc lists the values; they are read case-insensitively, spaces around ignored.
            if value is not None and value.strip(" ").lower() not in ENUM_FIELDS[name]:
                broken.add(("unknown_value", name))
                bad_type.add(name)
            typed[name] = value
        else:
            typed[name] = value

    _cross_field_rules(record, typed, bad_type, broken, maybe)
    if broken:
        return Verdict(broken, maybe - broken)
    row = {name: typed.get(name) for name in PROPERTIES}
    extra = {k: v for k, v in record.items() if k not in PROPERTIES}
    row["attributes"] = extra or None
    return Verdict(row=row)


def _judge_instant(name: str, instant: datetime, broken: set) -> datetime:
    if instant > NOW + MAX_FUTURE:
        broken.add(("future_timestamp", name))
    if instant < EARLIEST:
        broken.add(("timestamp_out_of_range", name))
    return instant


# The load time every property test passes to ingestion.
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _cross_field_rules(record, typed, bad_type, broken, maybe) -> None:
    """docs/usage-events.md, "Rules across fields"."""

    def known(name: str) -> bool:
        return name not in bad_type

    def count(name: str) -> int | None:
        return typed.get(name)

    def rule(code: str, name: str | None, holds: bool, certain: bool) -> None:
        if holds:
            (broken if certain else maybe).add((code, name))

    # cached_prompt_tokens + cache_write_tokens ≤ prompt_tokens (an absent cache count is 0)
    parts = ("cached_prompt_tokens", "cache_write_tokens", "prompt_tokens")
    if count("prompt_tokens") is not None:
        cached = (count("cached_prompt_tokens") or 0) + (count("cache_write_tokens") or 0)
        if all(known(p) for p in parts):
            rule("cached_exceeds_prompt", None, cached > count("prompt_tokens"), True)
        else:
            maybe.add(("cached_exceeds_prompt", None))
    # reasoning_tokens ≤ completion_tokens
    if count("reasoning_tokens") is not None and count("completion_tokens") is not None:
        rule(
            "reasoning_exceeds_completion",
            None,
            count("reasoning_tokens") > count("completion_tokens"),
            True,
        )
    elif not (known("reasoning_tokens") and known("completion_tokens")):
        maybe.add(("reasoning_exceeds_completion", None))

    # A final record (any status but in_progress; no status is success) carries both counts.
    status = record.get("status")
    status_known = status is None or isinstance(status, str)
    is_final = status is None or not (
        isinstance(status, str) and status.strip(" ").lower() == "in_progress"
    )
    for name in ("prompt_tokens", "completion_tokens"):
        missing = record.get(name) is None
        rule("missing_final_tokens", name, is_final and missing, status_known)

    # A task's first attempt (no parent_event_id, attempt 1 or absent) carries the task tags.
    # A blank parent_event_id is no parent, as a blank tag is no tag ("missing or empty").
    parent, attempt = record.get("parent_event_id"), record.get("attempt")
    no_parent = blank(parent) if known("parent_event_id") else None  # None: not known
    attempt_one = (attempt is None or count("attempt") == 1) if known("attempt") else None
    for tag in TASK_TAGS:
        if not blank(record.get(tag)):
            continue
        if no_parent is not None and attempt_one is not None:
            rule("missing_task_tag", tag, no_parent and attempt_one, True)
        elif no_parent is not False and attempt_one is not False:
            maybe.add(("missing_task_tag", tag))


def csv_record(cells: dict[str, str | None]) -> dict:
    """What a CSV row is, as a JSON record, in the doc's words: "empty cell = null; numbers as
    text, a count as digits with an optional sign" (after trimming spaces): such a cell is that
    count; any other text in a count column stays text, which is not a whole number."""
    record: dict = {}
    for name, cell in cells.items():
        if cell is not None and name in COUNT_FIELDS and CSV_WHOLE_NUMBER.fullmatch(cell):
            record[name] = int(cell.strip(" "))
        else:
            record[name] = cell
    return record


def codes(found: set[tuple[str, str | None]]) -> set[tuple[str, str | None]]:
    """Reason (code, field) pairs with the field dropped where the rule is across fields."""
    return {(c, None if c in CROSS_FIELD_CODES else f) for c, f in found}
