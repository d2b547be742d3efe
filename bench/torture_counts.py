"""The torture run's two oracles (bench/torture.py): the events the landing files hold, counted
without the pipeline, and the warehouse compared table by table with a clean build.

The independent count reads every usage-event landing file with json / csv / pyarrow, keeps the
records that are valid — for the generated files, the records the generator did not break
(``truth/events.parquet``: a record with no ``fault``); for the torture's own files, what the
torture meant (``bench/torture_inputs.Landed``) — and applies the contract's dedupe rule
(docs/usage-events.md: among versions of one ``event_id``, the latest ``emitted_at`` wins, and
``emitted_at`` defaults to ``occurred_at``)."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from orchestration.sql_text import quote

# Columns that record when something happened (wall clock), not what the data is: they differ
# between the torture warehouse and a clean build of the same files by construction.
VOLATILE_COLUMNS = {
    "first_ingested_at",
    "last_ingested_at",
    "ingested_at",
    "loaded_at",
    "quarantined_at",
    "price_file_loaded_at",
    "resolved_at",
    "rebuilt_at",
    "fired_at",
}
# Columns that depend on the order things arrived in, by design:
HISTORY_COLUMNS = {
    # which identical copy of a version is kept: the first ingested (stg_usage__events' tie-break),
    # an original in the torture run, whichever copy a one-run clean build read first
    "staging.stg_usage__events": {"source_file", "source_row", "file_sha256"},
    # an alert records the spend when it fired (docs/budgets.md "Once, ever"); a clean build fires
    # the same alerts at the final spend
    "audit.budget_alerts": {
        "spend_usd",
        "share_used",
        "projected_spend_usd",
        "projected_share",
        "message",
        "payload",
    },
}
# Tables that keep what once happened (docs/budgets.md "Once, ever": an alert fired is never taken
# back): the torture warehouse may hold rows a clean build does not (an alert fired before the
# price correction or a re-version brought the spend back under its threshold), never fewer.
KEPT_ONCE_HAPPENED = {"audit.budget_alerts"}
SCHEMAS = ("staging", "intermediate", "marts", "audit")


def _records(path: Path):
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    name = path.name.removesuffix(".gz")
    if name.endswith(".jsonl"):
        for line in data.decode("utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield record
    elif name.endswith(".csv"):
        yield from csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
    elif name.endswith(".parquet"):
        yield from pq.read_table(io.BytesIO(data)).to_pylist()


def _when(record: dict) -> datetime | None:
    text = record.get("emitted_at") or record.get("occurred_at")
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass
class Expected:
    events: dict[str, int | None]  # event_id -> completion tokens of its winning version
    versions: int  # valid records read
    unreadable: list[str]


def expected_events(
    landing: Path, truth: Path, copies: dict[str, str], torture_valid: set[str]
) -> Expected:
    """The deduplicated valid events of ``landing`` (the usage_events folder)."""
    rows = pq.read_table(truth, columns=["file", "event_id", "fault"]).to_pylist()
    valid_by_file: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row["fault"] is None and row["event_id"]:
            valid_by_file[Path(row["file"]).name].add(row["event_id"])
    winners: dict[str, tuple[datetime, int | None]] = {}
    versions = 0
    unreadable = []
    for path in sorted(p for p in landing.iterdir() if p.is_file()):
        original = copies.get(path.name, path.name)
        generated = valid_by_file.get(original)
        try:
            records = list(_records(path))
        except Exception:  # an unreadable file: nothing in it counts
            unreadable.append(path.name)
            continue
        for record in records:
            event_id = record.get("event_id")
            ok = event_id in generated if generated is not None else event_id in torture_valid
            when = _when(record)
            if not ok or when is None:
                continue
            versions += 1
            tokens = _int(record.get("completion_tokens"))
            if event_id not in winners or when > winners[event_id][0]:
                winners[event_id] = (when, tokens)
    return Expected({k: v[1] for k, v in winners.items()}, versions, unreadable)


@dataclass
class EventCheck:
    events: int
    lost: list[str]
    doubled: int
    unexpected: list[str]
    wrong_version: list[str]


def check_events(warehouse: Path, expected: Expected) -> EventCheck:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select event_id, completion_tokens from staging.stg_usage__events"
        ).fetchall()
    have: dict[str, list] = defaultdict(list)
    for event_id, tokens in rows:
        have[event_id].append(tokens)
    lost = sorted(set(expected.events) - set(have))
    unexpected = sorted(set(have) - set(expected.events))
    doubled = sum(len(v) - 1 for v in have.values()) + len(unexpected)
    wrong = sorted(
        k for k, v in have.items() if k in expected.events and v[0] != expected.events[k]
    )
    return EventCheck(len(have), lost, doubled, unexpected, wrong)


def quarantined(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("select count(*) from audit.quarantined_usage_events").fetchone()[0]


def _tables(con, catalog: str) -> dict[str, list[str]]:
    rows = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_catalog = ? and table_schema in ('staging', 'intermediate', 'marts', 'audit') "
        "order by table_schema, table_name, ordinal_position",
        [catalog],
    ).fetchall()
    tables: dict[str, list[str]] = defaultdict(list)
    for schema, table, column in rows:
        tables[f"{schema}.{table}"].append(column)
    return dict(tables)


@dataclass
class TableDiff:
    table: str
    only_here: int
    only_clean: int
    rows: int
    # rows only here in a table of KEPT_ONCE_HAPPENED, none missing: history, not a defect
    by_design: bool = False


def compare_warehouses(
    torture: Path, clean: Path, excluded: dict[str, set[str]] | None = None
) -> tuple[list[TableDiff], list[str], dict[str, list[str]]]:
    """Every table and view of ``torture`` against ``clean``: rows in one and not the other
    (multiset difference) over every column but the volatile ones. Returns the differing tables
    (``by_design`` when a table that keeps history only has more), the tables missing from one
    side, and the columns left out per table."""
    excluded = HISTORY_COLUMNS if excluded is None else excluded
    con = duckdb.connect()
    con.execute(f"attach '{torture}' as t (read_only)")
    con.execute(f"attach '{clean}' as c (read_only)")
    mine, theirs = _tables(con, "t"), _tables(con, "c")
    missing = sorted(set(mine) ^ set(theirs))
    diffs, left_out = [], {}
    for table in sorted(set(mine) & set(theirs)):
        drop = VOLATILE_COLUMNS | excluded.get(table, set())
        cols = [c for c in mine[table] if c not in drop and c in theirs[table]]
        left_out[table] = [c for c in mine[table] if c not in cols]
        schema, name = table.split(".")
        select = ", ".join(quote(c) for c in cols)
        a, b = f"t.{quote(schema)}.{quote(name)}", f"c.{quote(schema)}.{quote(name)}"
        only_here = con.execute(
            f"select count(*) from (select {select} from {a} except all select {select} from {b})"
        ).fetchone()[0]
        only_clean = con.execute(
            f"select count(*) from (select {select} from {b} except all select {select} from {a})"
        ).fetchone()[0]
        count = con.execute(f"select count(*) from {a}").fetchone()[0]
        if only_here or only_clean:
            by_design = table in KEPT_ONCE_HAPPENED and not only_clean
            diffs.append(TableDiff(table, only_here, only_clean, count, by_design))
    con.close()
    return diffs, missing, {k: v for k, v in left_out.items() if v}


def fingerprint(warehouse: Path, leave_out: set[str] = frozenset()) -> dict[str, tuple[int, int]]:
    """(rows, order-free hash of every column but ``leave_out``) per table: what "a run changed
    nothing" compares."""
    con = duckdb.connect(str(warehouse), read_only=True)
    out = {}
    for table, cols in _tables(con, con.execute("select current_database()").fetchone()[0]).items():
        schema, name = table.split(".")
        select = ", ".join(quote(c) for c in cols if c not in leave_out) or "1"
        out[table] = con.execute(
            f"select count(*), coalesce(sum(hash({select})::hugeint), 0) "
            f"from {quote(schema)}.{quote(name)}"
        ).fetchone()
    con.close()
    return out


def lake_files(lake: Path) -> list[str]:
    return sorted(str(p.relative_to(lake)) for p in lake.rglob("*") if p.is_file())
