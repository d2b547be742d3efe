"""Pull new rows of the LiteLLM proxy's ``LiteLLM_SpendLogs`` table into landing files.

A pull lands rows; it does not load them. Each pull writes the rows it has not pulled before to
``landing/litellm/postgres/spend-logs-<watermark>-<pulled at>.jsonl`` (written as ``.part``,
renamed when complete), and the LiteLLM file loader takes them from there like any export: the
file is the unit that is validated, quarantined and published once, so "read = loaded +
quarantined" holds per pull, and the raw rows stay on disk for audit and replay.

Incremental by a watermark on ``startTime`` with an overlap window (default one hour): a pull
reads the rows at or after ``watermark - overlap`` and skips those an earlier pull already landed
(their request ids, read back from the earlier pull files that cover the window). A row
committed late, with a ``startTime`` up to ``overlap`` before the newest row already pulled, is
still landed once and only once. The watermark lives in the file names, so it advances exactly
when a pull's file is in place.

Only the columns ``litellm.COLUMNS`` names are read: never the prompts and responses LiteLLM may
keep in ``messages``, ``response`` or ``proxy_server_request``. Columns an older LiteLLM schema
lacks are read as null.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from orchestration.ingest.sources.litellm import COLUMNS
from orchestration.sql_text import quote

log = logging.getLogger(__name__)

TABLE = "LiteLLM_SpendLogs"
PULL_DIR = "postgres"
DEFAULT_OVERLAP = timedelta(hours=1)
FETCH_ROWS = 20_000
_NAME = re.compile(r"^spend-logs-(\d{8}T\d{6}\.\d{6})-(\d{8}T\d{6}\.\d{6})\.jsonl$")
_STAMP = "%Y%m%dT%H%M%S.%f"


@dataclass
class Pull:
    """What one pull did."""

    window_from: str | None  # startTime the pull read from (None: the first pull, everything)
    rows_fetched: int = 0  # rows at or after window_from
    rows_already_pulled: int = 0  # of those, landed by an earlier pull (the overlap)
    rows_written: int = 0  # landed by this pull = fetched - already pulled
    watermark: str | None = None  # newest startTime landed so far
    file: str | None = None  # the landing file written, relative to landing/litellm

    @property
    def reconciles(self) -> bool:
        return self.rows_fetched == self.rows_already_pulled + self.rows_written


def pull_files(landing_dir: Path) -> list[tuple[datetime, Path]]:
    """Earlier pulls' files with their watermarks, oldest first."""
    folder = landing_dir / PULL_DIR
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _NAME.match(path.name)
        if match:
            found.append((datetime.strptime(match.group(1), _STAMP), path))
    return sorted(found)


def _already_pulled(files: list[Path], window_from: datetime) -> set[str]:
    """Request ids landed by earlier pulls with a startTime at or after ``window_from``."""
    if not files:
        return set()
    with duckdb.connect() as con:
        rows = con.execute(
            "select request_id from read_json(?, format = 'newline_delimited', "
            "columns = {request_id: 'VARCHAR', startTime: 'TIMESTAMP'}) "
            "where startTime >= ?",
            [[str(p) for p in files], window_from],
        ).fetchall()
    return {row[0] for row in rows}


def _present_columns(cursor, table: str) -> list[str]:
    cursor.execute(
        "select column_name from information_schema.columns where table_name = %s", [table]
    )
    present = {row[0] for row in cursor.fetchall()}
    if not present:
        raise LookupError(
            f'table "{table}" not found: is this the LiteLLM proxy\'s database '
            "(LiteLLM creates it on first start)?"
        )
    return [c for c in COLUMNS if c in present]


def _quoted(name: str) -> str:
    return quote(name)  # PostgreSQL quotes identifiers as DuckDB does


def pull_spend_logs(
    database_url: str,
    landing_dir: Path,
    *,
    now: datetime | None = None,
    overlap: timedelta = DEFAULT_OVERLAP,
    table: str = TABLE,
) -> Pull:
    """Land the spend-log rows not pulled yet; see the module docstring."""
    import psycopg  # imported here: only a pull needs a database driver

    now = now or datetime.now(UTC)
    earlier = pull_files(landing_dir)
    watermark = earlier[-1][0] if earlier else None
    window_from = watermark - overlap if watermark else None
    covering = [path for mark, path in earlier if window_from is not None and mark >= window_from]
    seen = _already_pulled(covering, window_from) if window_from else set()
    pull = Pull(window_from.isoformat() if window_from else None)

    folder = landing_dir / PULL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f".pull-{now.strftime(_STAMP)}.jsonl.part"
    newest = watermark
    with psycopg.connect(database_url, autocommit=False) as conn:
        with conn.cursor() as meta:
            present = _present_columns(meta, table)
        select = ", ".join(
            f"{_quoted(c)}" if c in present else f"null as {_quoted(c)}" for c in COLUMNS
        )
        where = 'where "startTime" >= %s' if window_from else ""
        sql = (
            f'select row_to_json(r)::text, r."startTime", r.request_id from '
            f"(select {select} from {_quoted(table)} {where}) as r "
            'order by r."startTime", r.request_id'
        )
        with conn.cursor(name="llm_margin_spend_logs") as rows, open(part, "w") as out:
            rows.itersize = FETCH_ROWS
            rows.execute(sql, [window_from] if window_from else [])
            for text, started, request_id in rows:
                pull.rows_fetched += 1
                if request_id in seen:
                    pull.rows_already_pulled += 1
                    continue
                out.write(text + "\n")
                pull.rows_written += 1
                if started is not None and (newest is None or started > newest):
                    newest = started
    if not pull.rows_written:
        part.unlink()
        pull.watermark = watermark.isoformat() if watermark else None
        return pull
    # A startTime in the future (a proxy's clock) must not hold the window beyond now.
    newest = min(newest, now.astimezone(UTC).replace(tzinfo=None))
    final = folder / f"spend-logs-{newest.strftime(_STAMP)}-{now.strftime(_STAMP)}.jsonl"
    os.replace(part, final)
    pull.watermark = newest.isoformat()
    pull.file = final.relative_to(landing_dir).as_posix()
    log.info(
        "pulled %s spend-log rows from %s (%s already landed): %s",
        pull.rows_written,
        pull.window_from or "the start",
        pull.rows_already_pulled,
        pull.file,
    )
    return pull
