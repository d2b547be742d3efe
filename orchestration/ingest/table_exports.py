"""Load CSV exports of typed rows (billing entities, provider invoice lines, FX rates) into the lake.

A ``TableExports`` declares a family of exports: the lake folder group, its entities with their
columns (``orchestration.contract.Field``, built with ``contract.column``: the same kinds and
bounds as the usage-event contract), how a file name maps to an entity, and how a file is read
into records of the entity's columns (``read``: the CSV's own rows by default; a source whose
layout differs maps its file onto those columns here, as ``fx`` melts the ECB's wide rows).
``billing.BILLING``, ``provider_invoices.PROVIDER_INVOICES`` and ``fx.FX`` are the declarations.

Each file is loaded once per content (sha256), validated row by row in one SQL pass (rules from
``rules``, severity ``quarantine``: the same shape of reasons as the usage events, code, field,
message), good rows to ``lake/<group>/<entity>/``, bad ones to ``lake/quarantine/<group>/`` with
file, row and raw text, and published atomically with its manifest (``lake.Lake.publish``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.contract import Field
from orchestration.ingest.lake import HASH_PREFIX, SCHEMA_FILE, Lake, file_sha256
from orchestration.ingest.readers import CSV_CELLS_MARK, RecordBatch, read_records
from orchestration.ingest.rules import (
    Rule,
    Severity,
    bound_rules,
    decimal_from_text,
    enum_rule,
    findings_sql,
    q,
    whole_number_from_text,
)

MONTH_PATTERN = "^[0-9]{4}-(0[1-9]|1[0-2])$"
DATE_TEXT = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
# How a kind's text is described when it does not convert.
KIND_WORDS = {
    "integer": "a whole number",
    "decimal": "a decimal number",
    "signed_decimal": "a decimal number",
    "percent": "a percentage",
    "rate": "a decimal number",
    "timestamp": "an ISO-8601 timestamp",
}


@dataclass(frozen=True)
class TableExports:
    """A family of CSV exports loaded by this module.

    Good rows go to ``lake/<group>/<entity>/``, bad rows to ``lake/quarantine/<group>/``, one
    manifest per loaded file content to ``lake/_manifests/<group>/``."""

    group: str
    entities: dict[str, list[Field]]
    entity_of: Callable[[Path], str | None]
    expected_files: str  # for the message on a file no entity matches
    # A file → records (``source_row``, ``raw``: a JSON object of the entity's columns as text).
    read: Callable[[Path], Iterator[RecordBatch]] = read_records
    # Rules over several columns of one entity, beside the ones its columns' kinds give
    # (``rules``); they see the same ``s_<column>`` texts and ``v_<column>`` typed values.
    entity_rules: dict[str, tuple[Rule, ...]] = field(default_factory=dict)

    def lake(self, lake_root: Path) -> Lake:
        return Lake(lake_root, self.group)


@dataclass
class TableFileLoad:
    source_file: str
    entity: str | None
    file_sha256: str | None
    status: str  # loaded | already_loaded | unsupported | failed
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    message: str = ""


def _typed(spec: Field, text: str) -> str:
    """The typed value of a column from its text (trimmed, null when empty); null if it does
    not convert."""
    if spec.kind in ("string", "month"):
        return text
    if spec.kind == "enum":
        return f"lower({text})"
    if spec.kind == "integer":
        return whole_number_from_text(text)
    if spec.sql_type.startswith("decimal("):
        return decimal_from_text(text, spec.sql_type)
    if spec.kind == "date":
        return (
            f"case when regexp_full_match({text}, {q(DATE_TEXT)}) then try_cast({text} as date) end"
        )
    return f"try_cast({text} as {spec.sql_type})"


def _column_rules(spec: Field, text: str, value: str) -> list[Rule]:
    name = spec.name
    out: list[Rule] = []
    if spec.required:
        out.append(
            Rule(
                "missing_required",
                name,
                f"not starts_with(raw, {q(CSV_CELLS_MARK)}) and {text} is null",
                q(f"{name} is required but is empty"),
                10,
            )
        )
    if spec.kind in KIND_WORDS:
        out.append(
            Rule(
                "wrong_type",
                name,
                f"{text} is not null and {value} is null",
                q(f"{name} is not {KIND_WORDS[spec.kind]}: ") + f" || {text}",
                20,
            )
        )
    if spec.kind == "month":
        out.append(
            Rule(
                "invalid_month",
                name,
                f"{text} is not null and not regexp_matches({text}, {q(MONTH_PATTERN)})",
                q(f"{name} must be YYYY-MM, got ") + f" || {text}",
                30,
            )
        )
    if spec.kind == "date":
        out.append(
            Rule(
                "invalid_date",
                name,
                f"{text} is not null and {value} is null",
                q(f"{name} must be a date YYYY-MM-DD, got ") + f" || {text}",
                30,
            )
        )
    if spec.pattern:
        out.append(
            Rule(
                "invalid_format",
                name,
                f"{text} is not null and not regexp_full_match({text}, {q(spec.pattern)})",
                q(f"{name} must match {spec.pattern}, got ") + f" || {text}",
                30,
            )
        )
    if spec.enum:
        out.append(enum_rule(spec, text))
    return out + bound_rules(spec, value, text)


def rules(specs: list[Field]) -> list[Rule]:
    """Every rule of one entity, all of severity ``quarantine``."""
    out = [
        Rule(
            "wrong_cell_count",
            None,
            f"starts_with(raw, {q(CSV_CELLS_MARK)})",
            "'the row does not have as many cells as the header'",
            1,
        )
    ]
    for spec in specs:
        out += _column_rules(spec, f"s_{spec.name}", f"v_{spec.name}")
    return out


def validation_sql(entity: str, exports: TableExports) -> str:
    """SQL over ``records(source_row, raw)`` → the typed columns, ``raw_record`` and ``errors``."""
    specs = exports.entities[entity]
    paths = "[" + ", ".join(q(f"$.{s.name}") for s in specs) + "]"
    texts = ", ".join(
        f"nullif(trim(texts[{i}]), '') as s_{s.name}" for i, s in enumerate(specs, start=1)
    )
    values = ", ".join(f"{_typed(s, f's_{s.name}')} as v_{s.name}" for s in specs)
    typed = ", ".join(f"v_{s.name} as {s.name}" for s in specs)
    mark = q(CSV_CELLS_MARK)
    return f"""
with parsed as (
    select source_row, raw,
        case when not starts_with(raw, {mark}) then raw::json end as obj
    from records
),
listed as (
    select source_row, raw, json_extract_string(obj, {paths}) as texts from parsed
),
fielded as (
    select source_row, raw, {texts} from listed
),
valued as (
    select *, {values} from fielded
)
select
    source_row,
    case when starts_with(raw, {mark})
        then substr(raw, strpos(substr(raw, {len(CSV_CELLS_MARK) + 1}), ':') + {len(CSV_CELLS_MARK) + 1})
        else raw end as raw_record,
    {typed},
    {findings_sql(rules(specs) + list(exports.entity_rules.get(entity, ())), Severity.QUARANTINE)} as errors
from valued
"""


LOAD_COLUMNS = ["_source_file", "_source_row", "_file_sha256", "_loaded_at"]


def _columns_of(con: duckdb.DuckDBPyConnection, parquet: Path) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            f"describe select * from read_parquet('{parquet.as_posix()}')"
        ).fetchall()
    ]


def ensure_table_lake(lake_root: Path, exports: TableExports) -> None:
    """Empty typed Parquet files so readers find each entity's schema before the first load."""
    lake = exports.lake(lake_root)
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        for entity, specs in exports.entities.items():
            target = lake.data / entity / SCHEMA_FILE
            if (
                target.exists()
                and _columns_of(con, target) == [s.name for s in specs] + LOAD_COLUMNS
            ):
                continue  # written by this version (an entity that gained a column is rewritten)
            target.parent.mkdir(parents=True, exist_ok=True)
            cols = ", ".join(f"null::{s.sql_type} as {s.name}" for s in specs)
            con.execute(
                f"copy (select {cols}, ''::varchar as _source_file, 0::bigint as _source_row, "
                f"''::varchar as _file_sha256, null::timestamptz as _loaded_at limit 0) "
                f"to '{target.as_posix()}' (format parquet)"
            )
        quarantine = lake.quarantine / SCHEMA_FILE
        if not quarantine.exists():
            quarantine.parent.mkdir(parents=True, exist_ok=True)
            con.execute(
                "copy (select ''::varchar as entity, ''::varchar as source_file, 0::bigint as source_row, "
                "''::varchar as file_sha256, ''::varchar as raw_record, ''::varchar as error_code, "
                "''::varchar as error_field, ''::varchar as error_message, ''::varchar as errors, "
                f"null::timestamptz as quarantined_at limit 0) to '{quarantine.as_posix()}' (format parquet)"
            )


def load_table_file(
    path: Path,
    landing: Path,
    lake_root: Path,
    exports: TableExports,
    *,
    now: datetime | None = None,
) -> TableFileLoad:
    """Load one export file; safe to call again with the same content (it then does nothing)."""
    now = now or datetime.now(UTC)
    name = str(path.relative_to(landing))
    entity = exports.entity_of(path)
    if entity is None:
        return TableFileLoad(
            name, None, None, "unsupported", message=f"{name}: expected {exports.expected_files}"
        )
    lake = exports.lake(lake_root)
    sha = file_sha256(path)
    if lake.read_manifest(sha) is not None:
        return TableFileLoad(name, entity, sha, "already_loaded")
    lake.start(sha)
    good_dir = lake.work_data(sha) / entity
    bad_dir = lake.work_quarantine(sha)
    good_dir.mkdir(parents=True)
    bad_dir.mkdir(parents=True)
    result = TableFileLoad(name, entity, sha, "loaded")
    reasons: dict[str, int] = {}
    params = {"name": q(name), "sha": q(sha), "now": q(now.isoformat())}
    columns = ", ".join(s.name for s in exports.entities[entity])
    try:
        with duckdb.connect() as con:
            con.execute("set timezone = 'UTC'")
            for chunk, batch in enumerate(exports.read(path)):
                con.register("records", batch.table)
                con.execute(
                    f"create or replace temp table validated as {validation_sql(entity, exports)}"
                )
                con.unregister("records")
                read, bad = con.execute(
                    "select count(*), count(*) filter (where len(errors) > 0) from validated"
                ).fetchall()[0]
                result.rows_read += read
                result.rows_quarantined += bad
                result.rows_loaded += read - bad
                part = f"{sha[:HASH_PREFIX]}-{chunk}.parquet"
                con.execute(
                    f"copy (select {columns}, {params['name']} as _source_file, source_row as _source_row, "
                    f"{params['sha']} as _file_sha256, timestamptz {params['now']} as _loaded_at "
                    f"from validated where len(errors) = 0 order by source_row) "
                    f"to '{(good_dir / part).as_posix()}' (format parquet)"
                )
                if bad:
                    con.execute(
                        f"copy (select {q(entity)} as entity, {params['name']} as source_file, source_row, "
                        f"{params['sha']} as file_sha256, raw_record, errors[1].code as error_code, "
                        f"errors[1].field as error_field, errors[1].message as error_message, "
                        f"to_json(errors)::varchar as errors, timestamptz {params['now']} as quarantined_at "
                        f"from validated where len(errors) > 0 order by source_row) "
                        f"to '{(bad_dir / part).as_posix()}' (format parquet)"
                    )
                    for code, count in con.execute(
                        "select errors[1].code, count(*) from validated where len(errors) > 0 group by 1"
                    ).fetchall():
                        reasons[code] = reasons.get(code, 0) + count
    except Exception as exc:  # the file stays in landing and is retried next run
        lake.abandon(sha)
        return TableFileLoad(name, entity, sha, "failed", message=f"{type(exc).__name__}: {exc}")
    result.quarantine_by_reason = dict(sorted(reasons.items()))
    lake.publish(sha, {**asdict(result), "loaded_at": now.isoformat()})
    return result


def load_table_exports(
    landing: Path, lake_root: Path, exports: TableExports, *, now: datetime | None = None
) -> list[TableFileLoad]:
    """Load every file of the landing folder not loaded yet; one ``TableFileLoad`` per file."""
    ensure_table_lake(lake_root, exports)
    files = sorted(
        p for p in landing.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))
    )
    return [load_table_file(p, landing, lake_root, exports, now=now) for p in files]


def loaded_parts(lake_root: Path, exports: TableExports, load: TableFileLoad) -> list[Path]:
    """The lake Parquet files a load wrote (``<sha prefix>-<chunk>.parquet``)."""
    if load.status != "loaded" or load.entity is None or load.file_sha256 is None:
        return []
    folder = exports.lake(lake_root).data / load.entity
    return sorted(folder.glob(f"{load.file_sha256[:HASH_PREFIX]}-*.parquet"))
