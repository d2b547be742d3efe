"""Load billing exports (plans, customers, workspaces, invoices) into the lake, with quarantine.

Each ``landing/billing/<entity>*.csv`` is a full export of that entity (docs/billing-exports.md).
A file is loaded once per content, validated row by row in one SQL pass (same shape of reasons as
the usage events: code, field, message), good rows to ``lake/billing/<entity>/``, bad ones to
``lake/quarantine/billing/`` with file, row and raw text. The warehouse uses the latest export
of each entity; older ones stay for history.

The same loader serves every CSV export of typed rows: a ``TableExports`` names the lake folder
group, the entities and their columns, and how a file name maps to an entity. ``BILLING`` is the
billing exports; ``orchestration/ingest/provider_invoices.py`` declares the provider invoices.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.ingest.lake import HASH_PREFIX, file_sha256, write_manifest
from orchestration.ingest.readers import CSV_CELLS_MARK, read_records

# entity -> [(column, kind, required)]; kinds: string, decimal, integer, timestamp, month, enum:a|b
ENTITIES: dict[str, list[tuple[str, str, bool]]] = {
    "plans": [
        ("plan_id", "string", True),
        ("plan_name", "string", False),
        ("price_per_month_usd", "decimal", True),
        ("target_gross_margin_pct", "percent", True),
        ("included_tasks", "integer", False),
        ("overage_per_task_usd", "decimal", False),
        ("seats_included", "integer", False),
    ],
    "customers": [
        ("customer_id", "string", True),
        ("customer_name", "string", False),
        ("plan_id", "string", True),
        ("signed_up_at", "timestamp", True),
        ("utm_source", "string", False),
        ("utm_medium", "string", False),
        ("utm_campaign", "string", False),
    ],
    "workspaces": [
        ("workspace_id", "string", True),
        ("customer_id", "string", True),
        ("workspace_name", "string", False),
        ("monthly_hard_cap_usd", "decimal", False),
    ],
    "invoices": [
        ("invoice_id", "string", True),
        ("customer_id", "string", True),
        ("invoice_month", "month", True),
        ("plan_id", "string", False),
        ("amount_usd", "signed_decimal", True),
        ("status", "enum:paid|open|void", True),
    ],
}
SQL_TYPES = {
    "string": "varchar",
    "decimal": "decimal(18, 6)",
    "signed_decimal": "decimal(18, 6)",
    "percent": "decimal(9, 4)",
    "integer": "bigint",
    "timestamp": "timestamptz",
    "month": "varchar",
}


@dataclass
class BillingFileLoad:
    source_file: str
    entity: str | None
    file_sha256: str | None
    status: str  # loaded | already_loaded | unsupported | failed
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    message: str = ""


def entity_of(path: Path) -> str | None:
    name = path.name.lower()
    if not name.endswith(".csv"):
        return None
    return next((e for e in ENTITIES if name.startswith(e)), None)


@dataclass(frozen=True)
class TableExports:
    """A family of CSV exports loaded by this module.

    Good rows go to ``lake/<group>/<entity>/``, bad rows to ``lake/quarantine/<group>/``, one
    manifest per loaded file content to ``lake/_manifests/<group>/``."""

    group: str
    entities: dict[str, list[tuple[str, str, bool]]]
    entity_of: Callable[[Path], str | None]
    expected_files: str  # for the message on a file no entity matches


BILLING = TableExports(
    "billing",
    ENTITIES,
    entity_of,
    "plans*.csv, customers*.csv, workspaces*.csv or invoices*.csv",
)


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _column_sql(column: str, kind: str) -> tuple[str, str]:
    """(typed value expression, error expression or null) for one column."""
    text = f"nullif(trim(json_extract_string(obj, {_q('$.' + column)})), '')"
    if kind == "string" or kind.startswith("enum:"):
        typed = text
        if kind.startswith("enum:"):
            allowed = kind[5:].split("|")
            typed = f"lower({text})"
            bad = f"{typed} not in ({', '.join(_q(a) for a in allowed)})"
            return typed, _error(
                bad,
                "unknown_value",
                column,
                f"{_q(column + ' must be one of ' + ', '.join(allowed) + '; got ')} || {text}",
            )
        return typed, "null"
    if kind == "month":
        typed = text
        bad = f"{text} is not null and not regexp_matches({text}, '^[0-9]{{4}}-(0[1-9]|1[0-2])$')"
        return typed, _error(
            bad, "invalid_month", column, f"{_q(column + ' must be YYYY-MM, got ')} || {text}"
        )
    cast = {
        "decimal": "decimal(18, 6)",
        "signed_decimal": "decimal(18, 6)",
        "percent": "decimal(9, 4)",
        "integer": "bigint",
        "timestamp": "timestamptz",
    }[kind]
    typed = f"try_cast({text} as {cast})"
    bad = f"{text} is not null and {typed} is null"
    errors = [
        _error(
            bad,
            "wrong_type",
            column,
            f"{_q(column + ' is not a valid ' + kind.replace('_', ' ') + ': ')} || {text}",
        )
    ]
    if kind in ("decimal", "integer"):
        errors.append(
            _error(
                f"{typed} < 0",
                "negative_value",
                column,
                f"{_q(column + ' must not be negative: ')} || {text}",
            )
        )
    if kind == "percent":
        errors.append(
            _error(
                f"{typed} < 0 or {typed} >= 100",
                "out_of_range",
                column,
                f"{_q(column + ' must be a percentage in [0, 100): ')} || {text}",
            )
        )
    return typed, ", ".join(errors)


def _error(condition: str, code: str, column: str | None, message: str) -> str:
    field_sql = _q(column) if column else "null::varchar"
    return f"case when {condition} then struct_pack(code := {_q(code)}, field := {field_sql}, message := {message}) end"


def validation_sql(entity: str, exports: TableExports = BILLING) -> str:
    specs = exports.entities[entity]
    typed_cols, errors = (
        [],
        [
            _error(
                f"starts_with(raw, {_q(CSV_CELLS_MARK)})",
                "wrong_cell_count",
                None,
                "'the row does not have as many cells as the header'",
            ),
        ],
    )
    for column, kind, required in specs:
        typed, error = _column_sql(column, kind)
        typed_cols.append(f"{typed} as {column}")
        if required:
            errors.append(
                _error(
                    f"not starts_with(raw, {_q(CSV_CELLS_MARK)}) and "
                    f"nullif(trim(json_extract_string(obj, {_q('$.' + column)})), '') is null",
                    "missing_required",
                    column,
                    _q(f"{column} is required but is empty"),
                )
            )
        if error != "null":
            errors.append(error)
    return f"""
with parsed as (
    select source_row, raw,
        case when not starts_with(raw, {_q(CSV_CELLS_MARK)}) then raw::json end as obj
    from records
)
select
    source_row,
    case when starts_with(raw, {_q(CSV_CELLS_MARK)})
        then substr(raw, strpos(substr(raw, {len(CSV_CELLS_MARK) + 1}), ':') + {len(CSV_CELLS_MARK) + 1})
        else raw end as raw_record,
    {", ".join(typed_cols)},
    list_filter([{", ".join(errors)}], lambda e: e is not null) as errors
from parsed
"""


def ensure_billing_lake(lake_root: Path, exports: TableExports = BILLING) -> None:
    """Empty typed Parquet files so readers find each entity's schema before the first load."""
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        for entity, specs in exports.entities.items():
            target = lake_root / exports.group / entity / "schema-v1.parquet"
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            cols = ", ".join(
                f"null::{SQL_TYPES[k if not k.startswith('enum:') else 'string']} as {c}"
                for c, k, _ in specs
            )
            con.execute(
                f"copy (select {cols}, ''::varchar as _source_file, 0::bigint as _source_row, "
                f"''::varchar as _file_sha256, null::timestamptz as _loaded_at limit 0) "
                f"to '{target.as_posix()}' (format parquet)"
            )
        quarantine = lake_root / "quarantine" / exports.group / "schema-v1.parquet"
        if not quarantine.exists():
            quarantine.parent.mkdir(parents=True, exist_ok=True)
            con.execute(
                "copy (select ''::varchar as entity, ''::varchar as source_file, 0::bigint as source_row, "
                "''::varchar as file_sha256, ''::varchar as raw_record, ''::varchar as error_code, "
                "''::varchar as error_field, ''::varchar as error_message, ''::varchar as errors, "
                f"null::timestamptz as quarantined_at limit 0) to '{quarantine.as_posix()}' (format parquet)"
            )


def load_billing_file(
    path: Path,
    landing: Path,
    lake_root: Path,
    *,
    now: datetime | None = None,
    exports: TableExports = BILLING,
) -> BillingFileLoad:
    now = now or datetime.now(UTC)
    name = str(path.relative_to(landing))
    entity = exports.entity_of(path)
    if entity is None:
        return BillingFileLoad(
            name, None, None, "unsupported", message=f"{name}: expected {exports.expected_files}"
        )
    sha = file_sha256(path)
    manifest = lake_root / "_manifests" / exports.group / f"{sha}.json"
    if manifest.exists():
        return BillingFileLoad(name, entity, sha, "already_loaded")
    manifest.parent.mkdir(parents=True, exist_ok=True)
    work = lake_root / "_tmp" / exports.group / sha
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    result = BillingFileLoad(name, entity, sha, "loaded")
    reasons: dict[str, int] = {}
    params = {"name": _q(name), "sha": _q(sha), "now": _q(now.isoformat())}
    try:
        with duckdb.connect() as con:
            con.execute("set timezone = 'UTC'")
            batches = [b.table for b in read_records(path)]
            for chunk, table in enumerate(batches):
                con.register("records", table)
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
                columns = ", ".join(c for c, _, _ in exports.entities[entity])
                con.execute(
                    f"copy (select {columns}, {params['name']} as _source_file, source_row as _source_row, "
                    f"{params['sha']} as _file_sha256, timestamptz {params['now']} as _loaded_at "
                    f"from validated where len(errors) = 0 order by source_row) "
                    f"to '{(work / f'{entity}-{chunk}.parquet').as_posix()}' (format parquet)"
                )
                if bad:
                    con.execute(
                        f"copy (select {_q(entity)} as entity, {params['name']} as source_file, source_row, "
                        f"{params['sha']} as file_sha256, raw_record, errors[1].code as error_code, "
                        f"errors[1].field as error_field, errors[1].message as error_message, "
                        f"to_json(errors)::varchar as errors, timestamptz {params['now']} as quarantined_at "
                        f"from validated where len(errors) > 0 order by source_row) "
                        f"to '{(work / f'quarantine-{chunk}.parquet').as_posix()}' (format parquet)"
                    )
                    for code, count in con.execute(
                        "select errors[1].code, count(*) from validated where len(errors) > 0 group by 1"
                    ).fetchall():
                        reasons[code] = reasons.get(code, 0) + count
    except Exception as exc:  # the file stays in landing and is retried next run
        shutil.rmtree(work, ignore_errors=True)
        return BillingFileLoad(name, entity, sha, "failed", message=f"{type(exc).__name__}: {exc}")
    result.quarantine_by_reason = dict(sorted(reasons.items()))
    for part in sorted(work.glob(f"{entity}-*.parquet")):
        target = (
            lake_root
            / exports.group
            / entity
            / f"{sha[:HASH_PREFIX]}-{part.stem.split('-')[-1]}.parquet"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, target)
    for part in sorted(work.glob("quarantine-*.parquet")):
        target = (
            lake_root
            / "quarantine"
            / exports.group
            / f"{sha[:HASH_PREFIX]}-{part.stem.split('-')[-1]}.parquet"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, target)
    write_manifest(manifest, {**asdict(result), "loaded_at": now.isoformat()})
    shutil.rmtree(work, ignore_errors=True)
    return result


def load_billing(
    landing: Path,
    lake_root: Path,
    *,
    now: datetime | None = None,
    exports: TableExports = BILLING,
) -> list[BillingFileLoad]:
    ensure_billing_lake(lake_root, exports)
    files = sorted(
        p for p in landing.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))
    )
    return [load_billing_file(p, landing, lake_root, now=now, exports=exports) for p in files]


def loaded_parts(lake_root: Path, exports: TableExports, load: BillingFileLoad) -> list[Path]:
    """The lake Parquet files a load wrote (``<sha prefix>-<chunk>.parquet``)."""
    if load.status != "loaded" or load.entity is None or load.file_sha256 is None:
        return []
    folder = lake_root / exports.group / load.entity
    return sorted(folder.glob(f"{load.file_sha256[:HASH_PREFIX]}-*.parquet"))
