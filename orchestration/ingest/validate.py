"""The usage-event validator: one SQL statement over a batch of raw records.

Input: a relation ``records(source_row, raw)`` (or ``raw_bytes`` for JSON Lines) as produced by
``readers``. Output: one row per record with the typed contract fields, the unknown fields as an
``attributes`` JSON object, and ``errors``: a list of ``{code, field, message}``, empty when the
record is good. Every rule is a column expression, so a batch of a million records is validated
in one vectorised pass; no Python runs per record.

The rules come from the contract (``orchestration.contract.fields()``, read from the JSON Schema:
required fields, types, enums, ``minimum``) plus the few rules across fields the schema cannot
state; they are built with ``rules`` (shared with the table-export loader), all of severity
``quarantine``.
"""

from __future__ import annotations

import json
from datetime import datetime

from orchestration.contract import TASK_TAG_FIELDS, Field, fields
from orchestration.ingest.readers import CSV_CELLS_MARK
from orchestration.ingest.rules import (
    Rule,
    Severity,
    bound_rules,
    enum_rule,
    findings_sql,
    q,
    shown,
    whole_number_from_text,
)

# Outside [EARLIEST, now + max_future] a timestamp is a bug upstream, not an event.
EARLIEST_PLAUSIBLE = "2015-01-01"
DEFAULT_MAX_FUTURE_HOURS = 24

INTEGER_JSON_TYPES = "('UBIGINT', 'BIGINT')"
# A source's mapping (orchestration.ingest.sources) that cannot read part of a source record
# (a LiteLLM row whose metadata is not JSON) says why in this field; the record is quarantined
# with that reason, and the field is never kept in ``attributes``.
MAPPING_ERROR = "_mapping_error"


def _field_columns(specs: tuple[Field, ...]) -> list[str]:
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
    """``v_<f>``: the field's typed value, or null when its text does not convert.

    A count is a whole number in every format: a JSON number with no fraction (``2.0`` is 2, as
    in JSON Schema), or a text cell of digits with an optional sign (``rules.WHOLE_NUMBER_TEXT``).
    """
    name = spec.name
    t, s = f"t_{name}", f"s_{name}"
    if spec.kind == "integer":
        if numbers_as_text:
            typed = whole_number_from_text(f"trim({s})")
        else:
            typed = (
                f"case when {t} in {INTEGER_JSON_TYPES} then try_cast({s} as bigint) "
                f"when {t} = 'DOUBLE' and try_cast({s} as double) = floor(try_cast({s} as double)) "
                f"then try_cast(try_cast({s} as double) as bigint) end"
            )
    elif spec.kind == "timestamp":
        typed = f"try_cast(trim({s}) as timestamptz)"
    elif spec.kind in ("string", "enum"):
        typed = s
    else:
        raise ValueError(f"{name}: the usage-event validator has no rule for kind {spec.kind!r}")
    return f"{typed} as v_{name}"


def _field_rules(spec: Field) -> list[Rule]:
    """The rules one field's spec states (required, type, bounds, enum)."""
    name = spec.name
    t, s, v = f"t_{name}", f"s_{name}", f"v_{name}"
    present = f"({t} is not null and {t} <> 'NULL')"
    out: list[Rule] = []
    if spec.required:
        out.append(
            Rule(
                "missing_required",
                name,
                f"(not {present} or ({t} = 'VARCHAR' and trim({s}) = ''))",
                q(f"{name} is required but is missing or empty"),
                10,
            )
        )
    if spec.kind == "integer":
        out.append(
            Rule(
                "wrong_type",
                name,
                f"{present} and {v} is null",
                q(f"{name} must be a whole number, got ") + " || " + shown(s),
                20,
            )
        )
    elif spec.kind == "timestamp":
        out += [
            Rule(
                "wrong_type",
                name,
                f"{present} and {t} <> 'VARCHAR'",
                q(f"{name} must be an ISO-8601 timestamp string, got ") + " || " + shown(s),
                20,
            ),
            Rule(
                "invalid_timestamp",
                name,
                f"{t} = 'VARCHAR' and trim({s}) <> '' and {v} is null",
                q(f"{name} is not an ISO-8601 timestamp: ") + " || " + shown(s),
                30,
            ),
            Rule(
                "future_timestamp",
                name,
                f"{v} > (select now_utc from run_clock) + (select max_future from run_clock)",
                q(f"{name} is in the future: ")
                + f" || {s} || "
                + q(" (check the emitter's clock and time zone)"),
                35,
            ),
            Rule(
                "timestamp_out_of_range",
                name,
                f"{v} < timestamptz {q(EARLIEST_PLAUSIBLE + ' 00:00:00+00')}",
                q(f"{name} is before {EARLIEST_PLAUSIBLE}: ") + f" || {s}",
                35,
            ),
        ]
    else:
        out.append(
            Rule(
                "wrong_type",
                name,
                f"{present} and {t} <> 'VARCHAR'",
                q(f"{name} must be a string, got ") + " || " + shown(s),
                20,
            )
        )
    if spec.enum:
        out.append(enum_rule(spec, s, when=f"{t} = 'VARCHAR'"))
    out += bound_rules(spec, v, f"{v}::varchar")
    return out


def _record_rules() -> list[Rule]:
    """Rules across fields."""
    first_attempt = "(v_parent_event_id is null and coalesce(v_attempt, 1) = 1)"
    tag_rules = [
        Rule(
            "missing_task_tag",
            tag,
            f"{first_attempt} and (v_{tag} is null or trim(v_{tag}) = '')",
            q(f"{tag} is required on a task's first attempt (no parent_event_id, attempt 1)"),
            50,
        )
        for tag in TASK_TAG_FIELDS
    ]
    return [
        Rule(
            "cached_exceeds_prompt",
            "cached_prompt_tokens",
            "coalesce(v_cached_prompt_tokens, 0) + coalesce(v_cache_write_tokens, 0) > v_prompt_tokens",
            "'cached_prompt_tokens + cache_write_tokens (' || "
            "(coalesce(v_cached_prompt_tokens, 0) + coalesce(v_cache_write_tokens, 0))::varchar || "
            "') exceed prompt_tokens (' || v_prompt_tokens::varchar || ')'",
            60,
        ),
        Rule(
            "reasoning_exceeds_completion",
            "reasoning_tokens",
            "v_reasoning_tokens > v_completion_tokens",
            "'reasoning_tokens (' || v_reasoning_tokens::varchar || ') exceed completion_tokens (' || "
            "v_completion_tokens::varchar || ')'",
            60,
        ),
        Rule(
            "missing_final_tokens",
            "prompt_tokens",
            "coalesce(lower(trim(v_status)), 'success') <> 'in_progress' and v_prompt_tokens is null "
            "and (t_prompt_tokens is null or t_prompt_tokens = 'NULL')",
            "'a final record (status ' || coalesce(v_status, 'null') || ') must carry prompt_tokens'",
            70,
        ),
        Rule(
            "missing_final_tokens",
            "completion_tokens",
            "coalesce(lower(trim(v_status)), 'success') <> 'in_progress' and v_completion_tokens is null "
            "and (t_completion_tokens is null or t_completion_tokens = 'NULL')",
            "'a final record (status ' || coalesce(v_status, 'null') || ') must carry completion_tokens'",
            70,
        ),
        *tag_rules,
    ]


def _record_shape_rules() -> list[Rule]:
    """Rules on the record as a whole, before any field is read."""
    return [
        Rule(
            "invalid_encoding", None, "decoded is null", "'the record is not valid UTF-8 text'", 0
        ),
        Rule(
            "wrong_cell_count",
            None,
            f"starts_with(decoded, {q(CSV_CELLS_MARK)})",
            f"'the row does not have the ' || split_part(substr(decoded, {len(CSV_CELLS_MARK) + 1}), ':', 1) "
            "|| ' cells the header names'",
            1,
        ),
        Rule(
            "empty_record",
            None,
            "decoded is not null and trim(decoded) = ''",
            "'the line is empty'",
            2,
        ),
        Rule(
            "bad_json",
            None,
            f"trim(decoded) <> '' and not starts_with(decoded, {q(CSV_CELLS_MARK)}) and not is_json",
            "'not valid JSON: ' || left(decoded, 60)",
            3,
        ),
        Rule(
            "source_record_unreadable",
            None,
            "mapping_error is not null",
            "mapping_error",
            5,
        ),
        Rule(
            "not_an_object",
            None,
            "is_json and json_kind <> 'OBJECT'",
            "'a record must be a JSON object, got a JSON ' || lower(json_kind)",
            4,
        ),
    ]


def rules() -> list[Rule]:
    """Every usage-event rule, all of severity ``quarantine``."""
    out = _record_shape_rules()
    for spec in fields():
        out += _field_rules(spec)
    return out + _record_rules()


def validation_sql(
    *, numbers_as_text: bool, from_bytes: bool, with_source_file: bool = False
) -> str:
    """SQL over ``records`` (and a one-row ``run_clock(now_utc, max_future)``) → validated rows.

    ``with_source_file``: ``records`` has a ``source_file`` column (a source that assembles its
    records from several files names each record's own file); otherwise it is null."""
    specs = fields()
    names = [f.name for f in specs]
    if from_bytes:
        raw = "rtrim(try(decode(raw_bytes)), chr(13) || chr(10))"
        raw_text = f"coalesce({raw}, 'hex:' || hex(raw_bytes))"
    else:
        raw = "raw"
        skip = len(CSV_CELLS_MARK)
        raw_text = (
            f"case when starts_with(raw, {q(CSV_CELLS_MARK)}) "
            f"then substr(raw, {skip} + strpos(substr(raw, {skip + 1}), ':') + 1) else raw end"
        )
    paths = "[" + ", ".join(q(f"$.{name}") for name in names) + "]"
    field_cols = ",\n        ".join(_field_columns(specs))
    typed_cols = ",\n        ".join(_typed_column(spec, numbers_as_text) for spec in specs)
    known_null = json.dumps({name: None for name in names} | {MAPPING_ERROR: None})
    source_file = "source_file" if with_source_file else "null::varchar"
    errors = findings_sql(rules(), Severity.QUARANTINE)
    typed = ",\n        ".join(f"v_{name} as {name}" for name in names)
    return f"""
with decoded as (
    select source_row, {source_file} as source_file, {raw} as decoded, {raw_text} as raw_record
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
        source_row, source_file, raw_record, decoded, is_json, json_kind, obj,
        json_extract_string(obj, {q("$." + MAPPING_ERROR)}) as mapping_error,
        json_type(obj, {paths}) as field_types,
        json_extract_string(obj, {paths}) as field_texts
    from objects
),
fielded as (
    select
        source_row, source_file, raw_record, decoded, is_json, json_kind, obj, mapping_error,
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
        {errors} as errors
    from valued
)
select
    source_row,
    source_file,
    raw_record,
    {typed},
    case when obj is not null
        then nullif(json_merge_patch(obj, {q(known_null)})::varchar, '{{}}') end as attributes,
    errors
from checked
"""


def run_clock_sql(now: datetime, max_future_hours: float) -> str:
    return (
        f"select timestamptz {q(now.isoformat())} as now_utc, "
        f"to_seconds({float(max_future_hours) * 3600}) as max_future"
    )
