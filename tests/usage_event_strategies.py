"""Hypothesis strategies for usage-event records of every shape, and the files that carry them.

A record is drawn in one of three ways: clean (every field valid or absent and the rules across
fields kept), clean with one fault (one field given a value that breaks its rule, or one rule
across fields broken), or wild (every field drawn from valid and invalid values alike). What a
record should do is never taken from how it was drawn: the oracle (usage_event_oracle) decides.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import strategies as st
from usage_event_oracle import (
    COUNT_FIELDS,
    ENUM_FIELDS,
    NOW,
    PROPERTIES,
    REQUIRED,
    TASK_TAGS,
    TIMESTAMP_FIELDS,
)

MAX_TOKENS = 10_000_000

# ---- values -------------------------------------------------------------------------------

ids = st.from_regex(r"[a-z]{1,6}[-_][0-9A-Za-z]{1,6}", fullmatch=True)
# Any text, hostile and odd text included (quotes, SQL, markup, control characters, other
# scripts, spaces around).
any_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "'; drop table x; --",
            '<script>alert("x")</script>',
            " padded ",
            "é ü 漢字 🙂",
            "a\"b'c",
            "\\",
        ]
    ),
)
texts = st.one_of(ids, ids, any_text)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),  # JSON has no NaN or Infinity
    st.text(max_size=8),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
not_strings = st.one_of(
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from("ab"), st.integers(0, 3), max_size=2),
)


def counts(low: int = 0, high: int = MAX_TOKENS) -> st.SearchStrategy:
    """A valid count, sometimes written as a JSON number with a zero fraction (12.0)."""
    whole = st.one_of(
        st.integers(low, min(high, 100_000)), st.integers(low, high), st.sampled_from([low, high])
    )
    return st.one_of(whole, whole.map(float))


bad_counts = st.one_of(
    st.integers(-(2**63), -1),
    st.integers(MAX_TOKENS + 1, 2**63 - 1),
    st.integers(2**63, 2**70),  # beyond 64 bits
    st.sampled_from([-1, MAX_TOKENS + 1, 2**63, -(2**63) - 1, 1e20, 1.5, -0.5, 12.25]),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()),
    st.sampled_from(
        ["12", " 12 ", "+3", "1e3", "2.0", "0x10", "1_000", "", "abc", True, False, [1], {"n": 1}]
    ),
)

EARLIEST = datetime(2015, 1, 1, tzinfo=UTC)
LATEST = NOW + timedelta(hours=24)


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


instants = st.one_of(
    st.datetimes(_naive(EARLIEST), _naive(LATEST), timezones=st.just(UTC)),
    st.sampled_from([EARLIEST, LATEST, datetime(2025, 3, 1, 10, tzinfo=UTC)]),
)
offsets = st.one_of(
    st.just("Z"), st.just(""), st.integers(-12 * 60, 14 * 60).map(lambda m: m - m % 15)
)


@st.composite
def iso_texts(draw, moments=instants) -> str:
    """An instant written as ISO-8601: 'T' or a space, seconds or not, a fraction of 1 to 9
    digits or none, then Z, an offset in any of its forms, or nothing."""
    moment = draw(moments)
    offset = draw(offsets)
    if isinstance(offset, int):
        moment = moment + timedelta(minutes=offset)  # the wall clock at that offset
        sign = "-" if offset < 0 else "+"
        hours, minutes = abs(offset) // 60, abs(offset) % 60
        forms = [f"{sign}{hours:02d}:{minutes:02d}", f"{sign}{hours:02d}{minutes:02d}"]
        suffix = draw(st.sampled_from(forms + ([f"{sign}{hours:02d}"] if not minutes else [])))
    else:
        suffix = offset
    sep = draw(st.sampled_from(["T", " "]))
    digits = draw(st.sampled_from([0, 0, 3, 6, 1, 9]))
    fraction = f".{moment.microsecond:06d}"[: digits + 1] if digits else ""
    if digits > 6:
        fraction += draw(st.from_regex(rf"[0-9]{{{digits - 6}}}", fullmatch=True))
    text = moment.strftime(f"%Y-%m-%d{sep}%H:%M")
    if digits or moment.second or draw(st.booleans()):
        text += moment.strftime(":%S") + fraction
    return text + suffix


bad_timestamps = st.one_of(
    iso_texts(
        st.datetimes(
            datetime(1990, 1, 1),
            _naive(EARLIEST) - timedelta(microseconds=1),
            timezones=st.just(UTC),
        )
    ),
    iso_texts(
        st.datetimes(
            _naive(LATEST) + timedelta(microseconds=1), datetime(2100, 1, 1), timezones=st.just(UTC)
        )
    ),
    st.sampled_from(
        [
            "2025-02-30T10:00:00Z",
            "2025-13-01T10:00:00Z",
            "2025-03-01T25:00:00Z",
            "2025-03-01T10:61:00Z",
            "yesterday at noon",
            # read by a lenient timestamp cast, but not ISO-8601 timestamps
            "epoch",
            "infinity",
            "-infinity",
            "2025-03-01",
            "2025-03-01 10:00:00 Europe/Berlin",
            "2025-03-01 10:00:00 PST",
            "2025-3-1 10:00:00",
            "2025-03-01T24:00:00Z",
            "2025-03-01T10:00:00+25:00",
            "2025-03-01T10:00:00.Z",
            "2025/03/01 10:00",
            "1700000000",
            "",
            "  ",
        ]
    ),
    st.text(max_size=10),
    st.integers(0, 2_000_000_000),
    not_strings,
)


def enum_values(name: str) -> st.SearchStrategy:
    """A listed value, in any letter case, with or without spaces around."""
    return st.builds(
        lambda value, upper, pad: (
            (" " if pad else "") + (value.upper() if upper else value) + (" " if pad else "")
        ),
        st.sampled_from(ENUM_FIELDS[name]),
        st.booleans(),
        st.booleans(),
    )


def bad_enum_values(name: str) -> st.SearchStrategy:
    return st.one_of(
        st.sampled_from(["", "exploded", "in progress", "succes", "gold"]),
        st.text(max_size=8),
        not_strings,
    )


def valid_value(name: str) -> st.SearchStrategy:
    if name in COUNT_FIELDS:
        return counts(1) if name == "attempt" else counts()
    if name in TIMESTAMP_FIELDS:
        return iso_texts()
    if name in ENUM_FIELDS:
        return enum_values(name)
    return ids if name in REQUIRED or name in TASK_TAGS else texts


def invalid_value(name: str) -> st.SearchStrategy:
    if name in COUNT_FIELDS:
        return st.one_of(bad_counts, st.just(0)) if name == "attempt" else bad_counts
    if name in TIMESTAMP_FIELDS:
        return bad_timestamps
    if name in ENUM_FIELDS:
        return bad_enum_values(name)
    if name in REQUIRED:
        return st.one_of(st.sampled_from([None, "", "   "]), not_strings)
    if name in TASK_TAGS or name == "parent_event_id":
        return st.one_of(st.sampled_from([None, "", "  "]), not_strings)
    return not_strings


ABSENT = object()
optional = st.sampled_from([ABSENT, None])

# Keys a record may carry that the contract does not define: any text, and names that look
# like the loader's own columns or paths.
extra_keys = st.one_of(
    st.text(max_size=8),
    st.sampled_from(
        [
            "gateway_region",
            "_mapping_error",
            "_source_file",
            "attributes",
            "event_date",
            "a.b",
            "$",
            "Event_ID",
            "",
        ]
    ),
).filter(lambda k: k not in PROPERTIES)


@st.composite
def clean_records(draw) -> dict:
    """Every field valid or absent, and the rules across fields kept."""

    def maybe(name: str, strategy=None):
        return draw(st.one_of(optional, valid_value(name) if strategy is None else strategy))

    status = maybe("status")
    streaming = isinstance(status, str) and status.strip().lower() == "in_progress"
    prompt = draw(counts())
    completion = draw(counts())
    cached = draw(st.integers(0, int(prompt)))
    written = draw(st.integers(0, int(prompt) - cached))
    reasoning = draw(st.integers(0, int(completion)))
    parent = maybe("parent_event_id", ids)
    attempt = maybe("attempt", counts(2, 9) if parent not in (ABSENT, None) else counts(1, 1))
    record = {
        "event_id": draw(valid_value("event_id")),
        "occurred_at": draw(valid_value("occurred_at")),
        "emitted_at": maybe("emitted_at"),
        "provider": draw(valid_value("provider")),
        "model": draw(valid_value("model")),
        "parent_event_id": parent,
        "attempt": attempt,
        "status": status,
        "prompt_tokens": maybe("prompt_tokens", st.just(prompt)) if streaming else prompt,
        "completion_tokens": maybe("completion_tokens", st.just(completion))
        if streaming
        else completion,
        "cached_prompt_tokens": maybe("cached_prompt_tokens", st.just(cached)),
        "cache_write_tokens": maybe("cache_write_tokens", st.just(written)),
        "reasoning_tokens": maybe("reasoning_tokens", st.just(reasoning)),
    }
    first = parent in (ABSENT, None)
    for tag in TASK_TAGS:
        record[tag] = draw(valid_value(tag)) if first else maybe(tag)
    for name in (
        "user_id",
        "task_id",
        "route",
        "fallback_from_route",
        "service_tier",
        "outcome",
        "retries",
        "latency_ms",
    ):
        record[name] = maybe(name)
    return _present(record)


def _present(record: dict) -> dict:
    return {k: v for k, v in record.items() if v is not ABSENT}


@st.composite
def one_fault_records(draw) -> dict:
    record = draw(clean_records())
    fault = draw(
        st.sampled_from([*PROPERTIES, "drop_required", "cached", "reasoning", "final", "tag"])
    )
    if fault in PROPERTIES:
        record[fault] = draw(invalid_value(fault))
    elif fault == "drop_required":
        record.pop(draw(st.sampled_from(REQUIRED)))
    elif fault == "cached":
        record["prompt_tokens"] = draw(st.integers(0, 1000))
        record["cached_prompt_tokens"] = draw(st.integers(0, 1000))
        record["cache_write_tokens"] = record["prompt_tokens"] - record["cached_prompt_tokens"] + 1
    elif fault == "reasoning":
        record["completion_tokens"] = draw(st.integers(0, 1000))
        record["reasoning_tokens"] = record["completion_tokens"] + draw(st.integers(1, 10))
    elif fault == "final":
        record.pop(draw(st.sampled_from(["prompt_tokens", "completion_tokens"])))
        record["status"] = draw(
            st.one_of(optional, st.sampled_from(["success", "error", "timeout"]))
        )
        if record["status"] is ABSENT:
            del record["status"]
    else:
        record.pop("parent_event_id", None)
        record["attempt"] = draw(st.sampled_from([1, 1.0, None]))
        record[draw(st.sampled_from(TASK_TAGS))] = draw(st.sampled_from([None, "", " "]))
    return record


@st.composite
def wild_records(draw) -> dict:
    record = {}
    for name in PROPERTIES:
        choice = draw(st.sampled_from(["absent", "valid", "valid", "invalid"]))
        if choice == "valid":
            record[name] = draw(valid_value(name))
        elif choice == "invalid":
            record[name] = draw(invalid_value(name))
    return record


@st.composite
def records(draw) -> dict:
    record = draw(st.one_of(clean_records(), clean_records(), one_fault_records(), wild_records()))
    for key in draw(st.lists(extra_keys, max_size=3, unique=True)):
        record[key] = draw(json_values)
    return record


# ---- JSON Lines -----------------------------------------------------------------------------


@st.composite
def json_lines(draw, record_strategy=None) -> bytes:
    """One line (without its newline): a record serialised some way, or a line that is not one."""
    kind = draw(st.sampled_from(["record"] * 6 + ["empty", "bad_json", "not_object", "bad_utf8"]))
    record = draw(record_strategy or records())
    text = json.dumps(
        record,
        ensure_ascii=draw(st.booleans()),
        separators=draw(st.sampled_from([(", ", ": "), (",", ":")])),
    )
    if kind == "record":
        return text.encode()
    if kind == "empty":
        return draw(st.sampled_from([b"", b" ", b"   "]))
    if kind == "bad_json":
        cut = draw(st.integers(1, len(text) - 1))
        return draw(
            st.sampled_from([text[:cut], text[:cut] + "}", "{" + text[cut:], "nope"])
        ).encode()
    if kind == "not_object":
        return json.dumps(
            draw(st.one_of(json_scalars, st.lists(json_scalars, max_size=2)))
        ).encode()
    at = draw(st.integers(0, len(text)))
    return (
        text[:at].encode()
        + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80"]))
        + text[at:].encode()
    )


def jsonl_bytes(lines: list[bytes], *, crlf: bool, final_newline: bool) -> bytes:
    end = b"\r\n" if crlf else b"\n"
    return end.join(lines) + (end if final_newline else b"")


def write_jsonl(path, lines: list[bytes], *, crlf: bool, final_newline: bool) -> None:
    data = jsonl_bytes(lines, crlf=crlf, final_newline=final_newline)
    if path.name.endswith(".gz"):
        with gzip.open(path, "wb") as handle:
            handle.write(data)
    else:
        path.write_bytes(data)


# ---- CSV ------------------------------------------------------------------------------------


def csv_cell(value) -> str | None:
    """How a value is written in a CSV cell: text as is, numbers as Python writes them, other
    JSON values as their JSON text; null as an empty cell."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return json.dumps(value)
    return repr(value) if isinstance(value, float) else str(value)


def csv_columns(rows: list[dict]) -> list[str]:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    return columns


def csv_text(columns: list[str], rows: list[dict[str, str | None]]) -> str:
    out = io.StringIO()
    # "\r\n" ends a line, so a cell holding either character is quoted (RFC 4180)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
    return out.getvalue()


# Column names a CSV header can carry for fields the contract does not define: the header is
# read as names trimmed of spaces, so extra columns here are plain names.
csv_extra_keys = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
    st.sampled_from(['a"b', "it's", "Event_ID", "x y", "_mapping_error", "é"]),
).filter(lambda k: k not in PROPERTIES)


# ---- Parquet --------------------------------------------------------------------------------


def arrow_column(values: list) -> pa.Array:
    """One column for a batch's values of one field, typed the way a writer would type it:
    integers, floats, booleans, text or timestamps when every value is one of them; other
    columns as text (JSON text for values that are not strings)."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, datetime) for v in present):
        return pa.array(values, pa.timestamp("us", tz="UTC"))
    if all(isinstance(v, bool) for v in present):
        return pa.array(values, pa.bool_())
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        if all(-(2**63) <= v < 2**63 for v in present):
            return pa.array(values, pa.int64())
        if all(0 <= v < 2**64 for v in present):
            return pa.array(values, pa.uint64())
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    return pa.array(
        [None if v is None else v if isinstance(v, str) else json.dumps(v) for v in values],
        pa.string(),
    )


def parquet_table(rows: list[dict]) -> pa.Table:
    columns = csv_columns(rows)
    return pa.table({c: arrow_column([row.get(c) for row in rows]) for c in columns})


def write_parquet(path, table: pa.Table) -> None:
    pq.write_table(table, path)
