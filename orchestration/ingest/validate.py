"""The usage-event validator: one SQL statement over a batch of raw records.

Input: a relation ``records(source_row, raw)`` (or ``raw_bytes`` for JSON Lines) as produced by
``readers``. Output: one row per record with the typed contract fields, the unknown fields as an
``attributes`` JSON object, and ``errors``: a list of ``{code, field, message}``, empty when the
record is good (or, cheaper, only ``is_bad``: the loader splits a batch with that and builds the
error lists over its bad records alone, ``usage_events.validate_batch``). Every rule is a column
expression, so a batch of a million records is validated in one vectorised pass; no Python runs
per record.

The rules come from the contract (``orchestration.contract.fields()``, read from the JSON Schema:
required fields, types, enums, ``minimum``) plus the few rules across fields the schema cannot
state; they are built with ``rules`` (shared with the table-export loader), all of severity
``quarantine``.
"""

from __future__ import annotations

import json
from datetime import datetime

from orchestration.contract import TASK_TAG_FIELDS, Field, fields
from orchestration.ingest.readers import CSV_CELLS_MARK, line_end_trimmed_sql, line_text_sql
from orchestration.ingest.rules import (
    ISO_TIMESTAMP_TEXT,
    Rule,
    Severity,
    any_finding_sql,
    bound_rules,
    enum_rule,
    findings_sql,
    q,
    shown,
    whole_number_from_text,
)

# Text DuckDB's JSON reader takes that RFC 8259 does not: NaN and Infinity (any case, signed)
# and a comma before a closing bracket. Looked for outside strings (``JSON_STRING`` replaced by
# "") and only in records whose whole text shows one (most records never do).
NON_JSON_TOKENS = r"(?i)nan|inf|,\s*[\]}]"
JSON_STRING = r'"([^"\\]|\\.)*"'
# Outside [EARLIEST, now + max_future] a timestamp is a bug upstream, not an event.
EARLIEST_PLAUSIBLE = "2015-01-01"
DEFAULT_MAX_FUTURE_HOURS = 24

INTEGER_JSON_TYPES = "('UBIGINT', 'BIGINT')"
# Rules on a field's absence apply to records that are JSON objects: a line that is not one
# (bad JSON, an array, a CSV row of the wrong cell count) is quarantined for that alone.
IS_OBJECT = "json_kind = 'OBJECT'"
# A source's mapping (orchestration.ingest.sources) that cannot read part of a source record
# (a LiteLLM row whose metadata is not JSON) says why in this field; the record is quarantined
# with that reason, and the field is never kept in ``attributes``. Only in a mapping's records
# (``validation_sql(mapping_errors=True)``): in a contract file it is an unknown field, kept.
MAPPING_ERROR = "_mapping_error"


def _field_columns(specs: tuple[Field, ...]) -> list[str]:
    """``t_<f>`` each field's JSON type and ``s_<f>`` its text, unpacked from one parse per record.

    The list forms of ``json_type``/``json_extract_string`` parse a record once for all fields;
    one call per field would parse it once per field and call (BENCHMARKS.md, "Findings").
    """
    cols = []
    for index, spec in enumerate(specs, start=1):
        # all_types[1] is the record's own kind: the fields' types start at [2]
        cols.append(f"all_types[{index + 1}] as t_{spec.name}")
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
                # an integer beyond 64 bits is read as a double: never round it into range
                f"and abs(try_cast({s} as double)) < {2.0**63} "
                f"then try_cast(try_cast({s} as double) as bigint) end"
            )
    elif spec.kind == "timestamp":
        typed = (
            f"case when regexp_full_match(trim({s}), {q(ISO_TIMESTAMP_TEXT)}) "
            f"then try_cast(trim({s}) as timestamptz) end"
        )
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
                f"{IS_OBJECT} and (not {present} or ({t} = 'VARCHAR' and trim({s}) = ''))",
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
    # A blank parent_event_id is no parent, as staging reads it (nullif(trim(...), '')).
    first_attempt = (
        "((v_parent_event_id is null or trim(v_parent_event_id) = '') "
        "and coalesce(v_attempt, 1) = 1)"
    )
    tag_rules = [
        Rule(
            "missing_task_tag",
            tag,
            f"{IS_OBJECT} and {first_attempt} and (v_{tag} is null or trim(v_{tag}) = '')",
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
            f"{IS_OBJECT} and coalesce(lower(trim(v_status)), 'success') <> 'in_progress' "
            "and v_prompt_tokens is null "
            "and (t_prompt_tokens is null or t_prompt_tokens = 'NULL')",
            "'a final record (status ' || coalesce(v_status, 'null') || ') must carry prompt_tokens'",
            70,
        ),
        Rule(
            "missing_final_tokens",
            "completion_tokens",
            f"{IS_OBJECT} and coalesce(lower(trim(v_status)), 'success') <> 'in_progress' "
            "and v_completion_tokens is null "
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
            "decoded is not null and is_blank",
            "'the line is empty'",
            2,
        ),
        Rule(
            "bad_json",
            None,
            f"not is_blank and not starts_with(decoded, {q(CSV_CELLS_MARK)}) "
            "and (not is_json or has_duplicate_key)",
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
    *,
    numbers_as_text: bool,
    from_bytes: bool,
    with_source_file: bool = False,
    strict_decode: bool = False,
    with_errors: bool = True,
    with_record_index: bool = False,
    mapping_errors: bool = False,
) -> str:
    """SQL over ``records`` (and a one-row ``run_clock(now_utc, max_future)``) → validated rows.

    ``with_source_file``: ``records`` has a ``source_file`` column (a source that assembles its
    records from several files names each record's own file); otherwise it is null.
    ``strict_decode`` (``raw_bytes`` only): fail on bytes that are not UTF-8 instead of reading
    them as null; much cheaper than the tolerant decode, so a loader tries it first and falls
    back to ``strict_decode=False`` for a batch it fails on (``usage_events.validate_batch``).
    ``with_errors``: each row's ``errors`` list and ``raw_record`` (the quarantine's); without,
    only ``is_bad`` (whether any rule holds), which costs a fraction of it: a loader splits a
    batch with it, then validates its bad records again, alone, with their errors.
    ``with_record_index``: ``records`` has a ``record_index`` column (unique in the batch),
    carried through to say which record each output row is.
    ``mapping_errors``: the records are a source's mapping (``RecordBatch.mapped``), whose
    ``MAPPING_ERROR`` field quarantines a record as ``source_record_unreadable``; otherwise that
    key is an unknown field like any other (a contract record may carry any key) and is kept.

    The work per record, in order (BENCHMARKS.md, "Ingestion, record by record"):

    * the text is checked for JSON once (``json_valid``); blank text is found from its first
      character, so a whole record is trimmed only when it starts with a blank;
    * one list-form ``json_type`` gives the record's kind and every field's JSON type, one
      list-form ``json_extract_string`` every field's text (each parses the record once);
    * each field's typed value is a cast of its text, each rule a boolean expression over the
      typed columns, evaluated for every record in one pass; the error list is built only for
      the records where a rule holds (``rules.findings_sql``), and the record's raw text is kept
      only for them (the quarantine's ``raw_record``);
    * unknown fields: a record has some when it has more keys (``json_keys``) than contract
      fields present; only those records are rewritten without the contract's fields
      (``attributes``).
    """
    specs = fields()
    names = [f.name for f in specs]
    if from_bytes:
        raw = line_text_sql(strict=strict_decode)
        raw_text = "coalesce(decoded, 'hex:' || hex(raw_bytes))"
        carried = "raw_bytes"
    else:
        raw = "raw"
        skip = len(CSV_CELLS_MARK)
        raw_text = (
            f"case when starts_with(decoded, {q(CSV_CELLS_MARK)}) "
            f"then substr(decoded, {skip} + strpos(substr(decoded, {skip + 1}), ':') + 1) "
            "else decoded end"
        )
        carried = "null::blob as raw_bytes"
    # Types: [1] is the record itself (its kind), then one per field, then the source mapping's
    # error; texts: one per field, then the mapping's error. A path into a record that is not an
    # object (an array, a string) finds nothing: its fields' types are null.
    mapping = [MAPPING_ERROR] if mapping_errors else []
    type_paths = "['$', " + ", ".join(q(f"$.{name}") for name in names + mapping) + "]"
    text_paths = "[" + ", ".join(q(f"$.{name}") for name in names + mapping) + "]"
    field_cols = ",\n        ".join(_field_columns(specs))
    typed_cols = ",\n        ".join(_typed_column(spec, numbers_as_text) for spec in specs)
    known = [*names, *mapping]
    # A record has no unknown field when it has as many keys as known fields present (a repeated
    # key counts twice, so such a record is rewritten, and comes out the same).
    known_keys = " + ".join(
        [f"(t_{name} is not null)::int" for name in names]
        + (["has_mapping_error_key::int"] if mapping_errors else [])
    )
    known_null = json.dumps(dict.fromkeys(known))
    source_file = "source_file" if with_source_file else "null::varchar"
    if with_errors:
        verdict = f"{findings_sql(rules(), Severity.QUARANTINE)} as errors"
        outcome = f"case when len(errors) > 0 then {raw_text} end as raw_record,"
        result = "errors"
    else:
        verdict = f"{any_finding_sql(rules(), Severity.QUARANTINE)} as is_bad"
        outcome = ""
        result = "is_bad"
    index = "record_index, " if with_record_index else ""
    if from_bytes:
        # A JSON Lines record is JSON as RFC 8259 writes it: DuckDB's reader also takes NaN,
        # Infinity and trailing commas, which other JSON readers refuse (NON_JSON_TOKENS) ...
        # A case, not `and`: DuckDB evaluates both sides of an `and` in a select list for every
        # row, so every record was rewritten without its strings, which made the check about
        # four times as costly (BENCHMARKS.md, "Ingestion: the strictness check on every
        # record"); a case evaluates each branch only for the rows that reach it.
        is_json = (
            "case when not coalesce(json_valid(decoded), false) then false "
            f"when not regexp_matches(decoded, {q(NON_JSON_TOKENS)}) then true "
            f"else not regexp_matches(regexp_replace(decoded, {q(JSON_STRING)}, '\"\"', 'g'), "
            f"{q(NON_JSON_TOKENS)}) end"
        )
        # ... and names each field once: readers disagree on which value of a field named twice
        # counts (DuckDB's the first, Python's the last). Only a record with more keys than
        # known fields present can have one, so only those are looked at again.
        duplicate_key = (
            f"case when key_count <> ({known_keys}) "
            "then key_count <> len(list_distinct(json_keys(decoded))) else false end"
        )
    else:  # CSV rows and Parquet records: JSON the readers wrote from cells and columns
        is_json, duplicate_key = "coalesce(json_valid(decoded), false)", "false"
    typed = ",\n    ".join(f"v_{name} as {name}" for name in names)
    return f"""
with lines as (
    select {index}source_row, {source_file} as source_file, {carried}, {raw} as line
    from records
),
decoded as (
    select * exclude (line), {line_end_trimmed_sql("line") if from_bytes else "line"} as decoded
    from lines
),
parsed as (
    select *,
        {is_json} as is_json,
        -- trim(decoded) = '', trimming only the records that start with a blank
        case when trim(left(decoded, 1)) = '' then trim(decoded) = ''
            when decoded is not null then false end as is_blank
    from decoded
),
listed as (
    select *,
        case when is_json then json_type(decoded, {type_paths}) end as all_types
    from parsed
),
objects as (
    select *,
        all_types[1] as json_kind,
        case when all_types[1] = 'OBJECT'
            then json_extract_string(decoded, {text_paths}) end as field_texts
    from listed
),
fielded as (
    select *,
        case when json_kind = 'OBJECT' then len(json_keys(decoded)) end as key_count,
        {f"field_texts[{len(names) + 1}]" if mapping_errors else "null::varchar"} as mapping_error,
        {f"all_types[{len(names) + 2}] is not null" if mapping_errors else "false"}
            as has_mapping_error_key,
        {field_cols}
    from objects
),
valued as (
    select *,
        {duplicate_key} as has_duplicate_key,
        {typed_cols}
    from fielded
),
checked as (
    select *,
        {verdict}
    from valued
)
select
    {index}source_row,
    source_file,
    {outcome}
    {typed},
    case when json_kind = 'OBJECT' and key_count <> {known_keys}
        then nullif({sorted_object("json_merge_patch(decoded, " + q(known_null) + ")")}, '{{}}')
        end as attributes,
    {result}
from checked
"""


def sorted_object(json_object: str) -> str:
    """The text of a JSON object with its top-level keys in sorted order: one event sent twice
    with its extra fields in another order keeps one ``attributes`` text (docs/usage-events.md)."""
    entries = f"""map_entries(json_transform({json_object}, '"MAP(VARCHAR, JSON)"'))"""
    return f"to_json(map_from_entries(list_sort({entries})))::varchar"


def run_clock_sql(now: datetime, max_future_hours: float) -> str:
    return (
        f"select timestamptz {q(now.isoformat())} as now_utc, "
        f"to_seconds({float(max_future_hours) * 3600}) as max_future"
    )
