"""Load exports (billing, provider invoices, FX rates, Stripe objects) into the lake as typed rows.

A ``TableExports`` declares a family of exports: the lake folder group, its entities with their
columns (``orchestration.contract.Field``, built with ``contract.column``: the same kinds and
bounds as the usage-event contract), how a file name maps to an entity, and how a file is read
into records of the entity's columns (``read``: the CSV's own rows by default; a source whose
layout differs maps its file onto those columns here, as ``fx`` melts the ECB's wide rows).
``billing.BILLING``, ``provider_invoices.PROVIDER_INVOICES``, ``fx.FX`` and
``provider_reports.PROVIDER_REPORTS`` are the declarations.

A source of nested JSON objects (Stripe: an invoice holds its lines and payments) declares an
``ObjectMapping`` instead of reading rows: each record is one object, validated as JSON (so the
number ``1500`` and the text ``"1500"`` differ), quarantined whole when any rule finds a fault, and
flattened into several lake tables (``entities``) that are published together, with one manifest
(``stripe.STRIPE``).

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
from orchestration.ingest.readers import CSV_CELLS_MARK, FAULT_MARK, RecordBatch, read_records
from orchestration.ingest.rules import (
    DECIMAL_TEXT,
    Rule,
    Severity,
    bound_rules,
    decimal_from_text,
    enum_rule,
    findings_sql,
    q,
    timestamp_from_text,
    whole_number_from_text,
)
from orchestration.sql_text import literal

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
    "amount": "a decimal number",
}
# A fault record's text: after ``\x00<kind>:<detail>:`` (readers.FAULT_MARK).
FAULT_TEXT = "^\\x00[^:]*:[^:]*:"


@dataclass(frozen=True)
class ObjectMapping:
    """How records that are JSON objects become rows of several lake tables.

    Each record of ``TableExports.read`` holds one object (``raw``: its JSON text; ``source_row``:
    its position in the file). ``kind_sql`` names an object's kind from ``obj`` (the parsed JSON,
    null when ``raw`` is not JSON). ``rules`` see ``raw``, ``obj`` and ``kind``; an object with a
    fault is quarantined whole (``entity`` = its kind), none of its rows reach any table.
    ``tables`` maps each entity of ``TableExports.entities`` to the SQL that flattens the good
    objects (the relation ``good``: ``source_row``, ``obj``, ``kind``) into its columns and the
    object's ``source_row``."""

    kind_sql: str
    rules: tuple[Rule, ...]
    tables: dict[str, str]


@dataclass(frozen=True)
class TableExports:
    """A family of exports loaded by this module: CSV rows, or JSON objects (``mapping``).

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
    # Set for a source of JSON objects: ``entity_of`` then names the file's records as a whole
    # (any value but None), and every file fills every entity through ``mapping.tables``.
    mapping: ObjectMapping | None = None

    def __post_init__(self) -> None:
        if self.mapping is not None and set(self.mapping.tables) != set(self.entities):
            raise ValueError(
                f"{self.group}: mapping tables {sorted(self.mapping.tables)} differ from its "
                f"entities {sorted(self.entities)}"
            )

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
    # A mapped source (``ObjectMapping``): rows written per lake table; rows_* count objects.
    rows_by_table: dict[str, int] = field(default_factory=dict)


def _typed(spec: Field, text: str) -> str:
    """The typed value of a column from its text (trimmed, null when empty); null if it does
    not convert."""
    if spec.kind in ("string", "month"):
        return text
    if spec.kind == "enum":
        return f"lower({text})"
    if spec.kind == "integer":
        return whole_number_from_text(text)
    if spec.kind == "amount":
        # plain decimal text, rounded to the column's 12 places (JSON floats carry more digits)
        return (
            f"case when regexp_full_match({text}, {q(DECIMAL_TEXT)}) "
            f"then try_cast(try_cast({text} as decimal(38, 24)) as {spec.sql_type}) end"
        )
    if spec.sql_type.startswith("decimal("):
        return decimal_from_text(text, spec.sql_type)
    if spec.kind == "date":
        return (
            f"case when regexp_full_match({text}, {q(DATE_TEXT)}) then try_cast({text} as date) end"
        )
    if spec.kind == "timestamp":
        return timestamp_from_text(text)
    return f"try_cast({text} as {spec.sql_type})"


def _column_rules(spec: Field, text: str, value: str) -> list[Rule]:
    name = spec.name
    out: list[Rule] = []
    if spec.required:
        out.append(
            Rule(
                "missing_required",
                name,
                f"not starts_with(raw, {q(FAULT_MARK)}) and {text} is null",
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
    mark = q(FAULT_MARK)
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
        then regexp_replace(raw, {q(FAULT_TEXT)}, '')
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
            f"describe select * from read_parquet({literal(parquet)})"
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
                f"to {literal(target)} (format parquet)"
            )
        quarantine = lake.quarantine / SCHEMA_FILE
        if not quarantine.exists():
            quarantine.parent.mkdir(parents=True, exist_ok=True)
            con.execute(
                "copy (select ''::varchar as entity, ''::varchar as source_file, 0::bigint as source_row, "
                "''::varchar as file_sha256, ''::varchar as raw_record, ''::varchar as error_code, "
                "''::varchar as error_field, ''::varchar as error_message, ''::varchar as errors, "
                f"null::timestamptz as quarantined_at limit 0) to {literal(quarantine)} (format parquet)"
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
    if exports.mapping is None:
        good_dir.mkdir(parents=True)
    bad_dir.mkdir(parents=True)
    result = TableFileLoad(name, entity, sha, "loaded")
    reasons: dict[str, int] = {}
    params = {"name": q(name), "sha": q(sha), "now": q(now.isoformat())}
    if exports.mapping is not None:
        try:
            _load_objects(path, exports, lake.work_data(sha), bad_dir, params, result, reasons)
        except Exception as exc:  # the file stays in landing and is retried next run
            lake.abandon(sha)
            return TableFileLoad(
                name, entity, sha, "failed", message=f"{type(exc).__name__}: {exc}"
            )
        result.quarantine_by_reason = dict(sorted(reasons.items()))
        lake.publish(sha, {**asdict(result), "loaded_at": now.isoformat()})
        return result
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
                    f"to {literal(good_dir / part)} (format parquet)"
                )
                if bad:
                    con.execute(
                        f"copy (select {q(entity)} as entity, {params['name']} as source_file, source_row, "
                        f"{params['sha']} as file_sha256, raw_record, errors[1].code as error_code, "
                        f"errors[1].field as error_field, errors[1].message as error_message, "
                        f"to_json(errors)::varchar as errors, timestamptz {params['now']} as quarantined_at "
                        f"from validated where len(errors) > 0 order by source_row) "
                        f"to {literal(bad_dir / part)} (format parquet)"
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


def objects_sql(mapping: ObjectMapping) -> str:
    """SQL over ``records(source_row, raw)`` → ``source_row``, ``raw_record``, ``obj``, ``kind``
    and ``errors`` (the mapping's rules, severity ``quarantine``)."""
    return f"""
with parsed as (
    select source_row, raw,
        case when raw is not null and json_valid(raw) then raw::json end as obj
    from records
),
kinded as (
    select source_row, raw, obj, {mapping.kind_sql} as kind from parsed
)
select source_row, raw as raw_record, obj, kind,
    {findings_sql(list(mapping.rules), Severity.QUARANTINE)} as errors
from kinded
"""


def _load_objects(
    path: Path,
    exports: TableExports,
    work_data: Path,
    bad_dir: Path,
    params: dict[str, str],
    result: TableFileLoad,
    reasons: dict[str, int],
) -> None:
    """The mapped path of ``load_table_file``: validate each object, quarantine the bad ones
    whole, flatten the good ones into every table of the mapping (into the load's work dir)."""
    assert exports.mapping is not None
    tables = {entity: 0 for entity in exports.entities}
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        for chunk, batch in enumerate(exports.read(path)):
            con.register("records", batch.table.select(["source_row", "raw"]))
            con.execute(f"create or replace temp table validated as {objects_sql(exports.mapping)}")
            con.unregister("records")
            read, bad = con.execute(
                "select count(*), count(*) filter (where len(errors) > 0) from validated"
            ).fetchall()[0]
            result.rows_read += read
            result.rows_quarantined += bad
            result.rows_loaded += read - bad
            part = f"{result.file_sha256[:HASH_PREFIX]}-{chunk}.parquet"
            con.execute(
                "create or replace temp view good as "
                "select source_row, obj, kind from validated where len(errors) = 0"
            )
            for entity, specs in exports.entities.items():
                columns = ", ".join(f"cast({s.name} as {s.sql_type}) as {s.name}" for s in specs)
                flat = exports.mapping.tables[entity]
                target = work_data / entity / part
                target.parent.mkdir(parents=True, exist_ok=True)
                con.execute(
                    f"create or replace temp table flat as select {columns}, "
                    f"{params['name']} as _source_file, source_row as _source_row, "
                    f"{params['sha']} as _file_sha256, timestamptz {params['now']} as _loaded_at "
                    f"from ({flat}) order by source_row"
                )
                [(rows,)] = con.execute("select count(*) from flat").fetchall()
                tables[entity] += rows
                if rows:
                    con.execute(f"copy flat to {literal(target)} (format parquet)")
            if bad:
                con.execute(
                    f"copy (select coalesce(kind, 'unknown') as entity, {params['name']} as source_file, "
                    f"source_row, {params['sha']} as file_sha256, raw_record, "
                    f"errors[1].code as error_code, errors[1].field as error_field, "
                    f"errors[1].message as error_message, to_json(errors)::varchar as errors, "
                    f"timestamptz {params['now']} as quarantined_at "
                    f"from validated where len(errors) > 0 order by source_row) "
                    f"to {literal(bad_dir / part)} (format parquet)"
                )
                for code, count in con.execute(
                    "select errors[1].code, count(*) from validated where len(errors) > 0 group by 1"
                ).fetchall():
                    reasons[code] = reasons.get(code, 0) + count
    result.rows_by_table = tables


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
    data = exports.lake(lake_root).data
    folders = [data / e for e in exports.entities] if exports.mapping else [data / load.entity]
    prefix = load.file_sha256[:HASH_PREFIX]
    return sorted(p for folder in folders for p in folder.glob(f"{prefix}-*.parquet"))
