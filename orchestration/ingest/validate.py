"""The usage-event validator: one SQL statement over a batch of raw records.

Input: a relation ``records(source_row, raw)`` (or ``raw_bytes`` for JSON Lines) as produced by
``readers``. Output: one row per record with the typed contract fields, the unknown fields as an
``attributes`` JSON object, and ``errors``: a list of ``{code, field, message}``, empty when the
record is good. Every rule is a column expression, so a batch of a million records is validated
in one vectorised pass; no Python runs per record.
"""

from __future__ import annotations

import json
from datetime import datetime

from orchestration.contract import TASK_TAG_FIELDS, Field, fields
from orchestration.ingest.readers import CSV_CELLS_MARK

# Outside [EARLIEST, now + max_future] a timestamp is a bug upstream, not an event.
EARLIEST_PLAUSIBLE = "2015-01-01"
DEFAULT_MAX_FUTURE_HOURS = 24

INTEGER_JSON_TYPES = "('UBIGINT', 'BIGINT')"


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _shown(value_sql: str) -> str:
    """A value as quoted in an error message, cut to 60 characters."""
    return f"coalesce('\"' || left({value_sql}, 60) || '\"', 'null')"


def _error(condition: str, code: str, field: str | None, message_sql: str) -> tuple[str, str]:
    """(condition, error expression): the error struct when the condition holds, else null."""
    field_sql = _q(field) if field else "null::varchar"
    return condition, (
        f"case when {condition} then struct_pack(code := {_q(code)}, field := {field_sql}, "
        f"message := {message_sql}) end"
    )


def _field_columns(specs: list[Field]) -> list[str]:
    """``t_<f>`` each field's JSON type and ``s_<f>`` its text, unpacked from one parse per record.

    The list forms of ``json_type``/``json_extract_string`` parse a record once for all fields;
    one call per field would parse it once per field and call (BENCHMARKS.md, "Findings").
    """
    cols = []
    for index, spec in enumerate(specs, start=1):
        cols.append(f"field_types[{index}] as t_{spec.name}")
        cols.append(f"field_texts[{index}] as s_{spec.name}")
    return cols


def _typed_column(spec: Field, numbers_as_text: bool) -> str:
    """``v_<f>``: the field's typed value, or null when its text does not convert."""
    name = spec.name
    t, s = f"t_{name}", f"s_{name}"
    if spec.kind == "integer":
        if numbers_as_text:
            typed = f"try_cast(trim({s}) as bigint)"
        else:
            typed = (
                f"case when {t} in {INTEGER_JSON_TYPES} then try_cast({s} as bigint) "
                f"when {t} = 'DOUBLE' and try_cast({s} as double) = floor(try_cast({s} as double)) "
                f"then try_cast(try_cast({s} as double) as bigint) end"
            )
    elif spec.kind == "timestamp":
        typed = f"try_cast(trim({s}) as timestamptz)"
    else:
        typed = s
    return f"{typed} as v_{name}"


def _field_errors(spec: Field) -> list[tuple[int, tuple[str, str]]]:
    """(priority, error expression) pairs for one field; a lower priority is reported first."""
    name = spec.name
    t, s, v = f"t_{name}", f"s_{name}", f"v_{name}"
    present = f"({t} is not null and {t} <> 'NULL')"
    out: list[tuple[int, str]] = []
    if spec.required:
        out.append(
            (
                10,
                _error(
                    f"(not {present} or ({t} = 'VARCHAR' and trim({s}) = ''))",
                    "missing_required",
                    name,
                    _q(f"{name} is required but is missing or empty"),
                ),
            )
        )
    if spec.kind == "integer":
        out.append(
            (
                20,
                _error(
                    f"{present} and {v} is null",
                    "wrong_type",
                    name,
                    _q(f"{name} must be a whole number, got ") + " || " + _shown(s),
                ),
            )
        )
        if name == "attempt":
            out.append(
                (
                    40,
                    _error(
                        f"{v} < 1",
                        "invalid_attempt",
                        name,
                        _q("attempt must be 1 or more, got ") + f" || {v}::varchar",
                    ),
                )
            )
        else:
            out.append(
                (
                    40,
                    _error(
                        f"{v} < 0",
                        "negative_value",
                        name,
                        _q(f"{name} must not be negative, got ") + f" || {v}::varchar",
                    ),
                )
            )
    elif spec.kind == "timestamp":
        out.append(
            (
                20,
                _error(
                    f"{present} and {t} <> 'VARCHAR'",
                    "wrong_type",
                    name,
                    _q(f"{name} must be an ISO-8601 timestamp string, got ") + " || " + _shown(s),
                ),
            )
        )
        out.append(
            (
                30,
                _error(
                    f"{t} = 'VARCHAR' and trim({s}) <> '' and {v} is null",
                    "invalid_timestamp",
                    name,
                    _q(f"{name} is not an ISO-8601 timestamp: ") + " || " + _shown(s),
                ),
            )
        )
        out.append(
            (
                35,
                _error(
                    f"{v} > (select now_utc from run_clock) + (select max_future from run_clock)",
                    "future_timestamp",
                    name,
                    _q(f"{name} is in the future: ")
                    + f" || {s} || "
                    + _q(" (check the emitter's clock and time zone)"),
                ),
            )
        )
        out.append(
            (
                35,
                _error(
                    f"{v} < timestamptz {_q(EARLIEST_PLAUSIBLE + ' 00:00:00+00')}",
                    "timestamp_out_of_range",
                    name,
                    _q(f"{name} is before {EARLIEST_PLAUSIBLE}: ") + f" || {s}",
                ),
            )
        )
    else:
        out.append(
            (
                20,
                _error(
                    f"{present} and {t} <> 'VARCHAR'",
                    "wrong_type",
                    name,
                    _q(f"{name} must be a string, got ") + " || " + _shown(s),
                ),
            )
        )
        if spec.enum:
            allowed = ", ".join(_q(e) for e in spec.enum)
            out.append(
                (
                    40,
                    _error(
                        f"{t} = 'VARCHAR' and lower(trim({s})) not in ({allowed})",
                        "unknown_value",
                        name,
                        _q(f"{name} must be one of {', '.join(spec.enum)}; got ")
                        + " || "
                        + _shown(s),
                    ),
                )
            )
    return out


def _record_errors() -> list[tuple[int, tuple[str, str]]]:
    """Rules across fields."""
    first_attempt = "(v_parent_event_id is null and coalesce(v_attempt, 1) = 1)"
    tag_rules = [
        (
            50,
            _error(
                f"{first_attempt} and (v_{tag} is null or trim(v_{tag}) = '')",
                "missing_task_tag",
                tag,
                _q(f"{tag} is required on a task's first attempt (no parent_event_id, attempt 1)"),
            ),
        )
        for tag in TASK_TAG_FIELDS
    ]
    return [
        (
            60,
            _error(
                "coalesce(v_cached_prompt_tokens, 0) + coalesce(v_cache_write_tokens, 0) > v_prompt_tokens",
                "cached_exceeds_prompt",
                "cached_prompt_tokens",
                "'cached_prompt_tokens + cache_write_tokens (' || "
                "(coalesce(v_cached_prompt_tokens, 0) + coalesce(v_cache_write_tokens, 0))::varchar || "
                "') exceed prompt_tokens (' || v_prompt_tokens::varchar || ')'",
            ),
        ),
        (
            60,
            _error(
                "v_reasoning_tokens > v_completion_tokens",
                "reasoning_exceeds_completion",
                "reasoning_tokens",
                "'reasoning_tokens (' || v_reasoning_tokens::varchar || ') exceed completion_tokens (' || "
                "v_completion_tokens::varchar || ')'",
            ),
        ),
        (
            70,
            _error(
                "coalesce(lower(trim(v_status)), 'success') <> 'in_progress' and v_prompt_tokens is null "
                "and (t_prompt_tokens is null or t_prompt_tokens = 'NULL')",
                "missing_final_tokens",
                "prompt_tokens",
                "'a final record (status ' || coalesce(v_status, 'null') || ') must carry prompt_tokens'",
            ),
        ),
        (
            70,
            _error(
                "coalesce(lower(trim(v_status)), 'success') <> 'in_progress' and v_completion_tokens is null "
                "and (t_completion_tokens is null or t_completion_tokens = 'NULL')",
                "missing_final_tokens",
                "completion_tokens",
                "'a final record (status ' || coalesce(v_status, 'null') || ') must carry completion_tokens'",
            ),
        ),
        *tag_rules,
    ]


def validation_sql(*, numbers_as_text: bool, from_bytes: bool) -> str:
    """SQL over ``records`` (and a one-row ``run_clock(now_utc, max_future)``) → validated rows."""
    specs = fields()
    names = [f.name for f in specs]
    if from_bytes:
        raw = "rtrim(try(decode(raw_bytes)), chr(13) || chr(10))"
        raw_text = f"coalesce({raw}, 'hex:' || hex(raw_bytes))"
    else:
        raw = "raw"
        skip = len(CSV_CELLS_MARK)
        raw_text = (
            f"case when starts_with(raw, {_q(CSV_CELLS_MARK)}) "
            f"then substr(raw, {skip} + strpos(substr(raw, {skip + 1}), ':') + 1) else raw end"
        )
    paths = "[" + ", ".join(_q(f"$.{name}") for name in names) + "]"
    field_cols = ",\n        ".join(_field_columns(specs))
    typed_cols = ",\n        ".join(_typed_column(spec, numbers_as_text) for spec in specs)
    known_null = json.dumps({name: None for name in names})
    rules = [
        (
            0,
            _error(
                "decoded is null",
                "invalid_encoding",
                None,
                "'the record is not valid UTF-8 text'",
            ),
        ),
        (
            1,
            _error(
                f"starts_with(decoded, {_q(CSV_CELLS_MARK)})",
                "wrong_cell_count",
                None,
                f"'the row does not have the ' || split_part(substr(decoded, {len(CSV_CELLS_MARK) + 1}), ':', 1) "
                "|| ' cells the header names'",
            ),
        ),
        (
            2,
            _error(
                "decoded is not null and trim(decoded) = ''",
                "empty_record",
                None,
                "'the line is empty'",
            ),
        ),
        (
            3,
            _error(
                f"trim(decoded) <> '' and not starts_with(decoded, {_q(CSV_CELLS_MARK)}) and not is_json",
                "bad_json",
                None,
                "'not valid JSON: ' || left(decoded, 60)",
            ),
        ),
        (
            4,
            _error(
                "is_json and json_kind <> 'OBJECT'",
                "not_an_object",
                None,
                "'a record must be a JSON object, got a JSON ' || lower(json_kind)",
            ),
        ),
    ]
    for spec in specs:
        rules.extend(_field_errors(spec))
    rules.extend(_record_errors())
    rules.sort(key=lambda r: r[0])
    error_list = ",\n            ".join(expr for _, (_, expr) in rules)
    # Most records are good: test every condition once, and build the error list only for the
    # records where one holds (struct building for ~100 rules per record is the expensive part).
    any_error = "\n            or ".join(
        f"coalesce({condition}, false)" for _, (condition, _) in rules
    )
    typed = ",\n        ".join(f"v_{name} as {name}" for name in names)
    return f"""
with decoded as (
    select source_row, {raw} as decoded, {raw_text} as raw_record
    from records
),
parsed as (
    select *,
        coalesce(json_valid(decoded), false) as is_json
    from decoded
),
shaped as (
    select *,
        case when is_json then json_type(decoded::json) end as json_kind
    from parsed
),
objects as (
    select *, case when json_kind = 'OBJECT' then decoded::json end as obj
    from shaped
),
listed as (
    select
        source_row, raw_record, decoded, is_json, json_kind, obj,
        json_type(obj, {paths}) as field_types,
        json_extract_string(obj, {paths}) as field_texts
    from objects
),
fielded as (
    select
        source_row, raw_record, decoded, is_json, json_kind, obj,
        {field_cols}
    from listed
),
valued as (
    select *,
        {typed_cols}
    from fielded
),
checked as (
    select *,
        case when
            {any_error}
        then list_filter([
            {error_list}
        ], lambda e: e is not null)
        else []::struct(code varchar, field varchar, message varchar)[]
        end as errors
    from valued
)
select
    source_row,
    raw_record,
    {typed},
    case when obj is not null
        then nullif(json_merge_patch(obj, {_q(known_null)})::varchar, '{{}}') end as attributes,
    errors
from checked
"""


def run_clock_sql(now: datetime, max_future_hours: float) -> str:
    return (
        f"select timestamptz {_q(now.isoformat())} as now_utc, "
        f"to_seconds({float(max_future_hours) * 3600}) as max_future"
    )
