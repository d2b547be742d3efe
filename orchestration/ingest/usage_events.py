"""Load usage-event landing files into the raw lake, losslessly and idempotently.

For each file: hash its content; if that content was loaded before, do nothing. Otherwise read it
in batches (``readers``), validate each batch in one SQL pass (``validate``), write good records to
the lake partitioned by event date and bad ones to quarantine with their reason, then publish the
whole file at once (``lake.Lake.publish``, the one publish every loader uses). Per file, records read = records loaded + records quarantined.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from orchestration.contract import contract_version, fields
from orchestration.ingest.lake import HASH_PREFIX, Lake, file_sha256
from orchestration.ingest.readers import (
    RecordBatch,
    UnsupportedFileError,
    all_utf8,
    file_format,
    is_landing_file,
    read_records,
)
from orchestration.ingest.rules import substitute
from orchestration.ingest.validate import DEFAULT_MAX_FUTURE_HOURS, run_clock_sql, validation_sql
from orchestration.sql_text import literal

log = logging.getLogger(__name__)


@dataclass
class FileLoad:
    """What happened to one landing file."""

    source_file: str
    file_sha256: str | None
    status: str  # loaded | already_loaded | unsupported | failed
    source_format: str | None = None
    records_read: int = 0
    records_loaded: int = 0
    records_quarantined: int = 0
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    first_event_date: str | None = None
    last_event_date: str | None = None
    message: str = ""

    @property
    def reconciles(self) -> bool:
        return self.records_read == self.records_loaded + self.records_quarantined


def lake_columns_sql() -> str:
    """The lake's columns, in order, over a relation ``validated`` plus load metadata."""
    cols = [f.name for f in fields()]
    return ",\n    ".join(
        cols
        + [
            "attributes",
            "coalesce(source_file, $source_file) as _source_file",
            "$source_format as _source_format",
            "source_row as _source_row",
            "$file_sha256 as _file_sha256",
            "$ingested_at::timestamptz as _ingested_at",
            f"{contract_version()} as _contract_version",
            "cast(timezone('UTC', occurred_at) as date) as event_date",
        ]
    )


QUARANTINE_COLUMNS_SQL = """
    coalesce(source_file, $source_file) as source_file,
    $source_format as source_format,
    source_row,
    $file_sha256 as file_sha256,
    raw_record,
    errors[1].code as error_code,
    errors[1].field as error_field,
    errors[1].message as error_message,
    len(errors) as error_count,
    to_json(errors)::varchar as errors,
    event_id,
    customer_id,
    $ingested_at::timestamptz as quarantined_at
"""


def _schema_relation_sql() -> str:
    """An empty ``validated`` relation with the right types (for schema-only files)."""
    typed = ", ".join(f"null::{f.sql_type} as {f.name}" for f in fields())
    return (
        f"select 0::bigint as source_row, null::varchar as source_file, ''::varchar as raw_record, {typed}, "
        "null::varchar as attributes, "
        "[struct_pack(code := '', field := '', message := '')] as errors"
    )


def _schema_params() -> dict:
    return {
        "source_file": "",
        "source_format": "",
        "file_sha256": "",
        "ingested_at": "1970-01-01 00:00:00+00",
    }


def ensure_lake(lake: Lake) -> None:
    """The usage-event lake's folders and empty schema files, and the OTel span store's (dbt
    reads both, whether or not any OpenTelemetry has arrived)."""
    from orchestration.ingest.sources.otel import DATASET, ensure_store

    ensure_store(Lake(lake.root, DATASET))
    schema = _schema_relation_sql()
    events = substitute(
        f"select {lake_columns_sql()} from ({schema}) as validated", _schema_params()
    )
    quarantine = substitute(
        f"select {QUARANTINE_COLUMNS_SQL} from ({schema}) as validated", _schema_params()
    )
    lake.ensure(events, quarantine)


def landing_files(landing_dir: Path) -> list[Path]:
    if not landing_dir.exists():
        return []
    return sorted(p for p in landing_dir.rglob("*") if is_landing_file(p))


def load_file(
    path: Path,
    landing_dir: Path,
    lake: Lake,
    *,
    now: datetime | None = None,
    sha: str | None = None,
    max_future_hours: float = DEFAULT_MAX_FUTURE_HOURS,
    read: Callable[[Path], Iterable[RecordBatch]] = read_records,
    source_format: str | None = None,
) -> FileLoad:
    """Load one landing file; safe to call again with the same content (it then does nothing).
    A timestamp more than ``max_future_hours`` after ``now`` is quarantined.

    ``read`` turns the file into batches of contract records: ``readers.read_records`` for the
    contract's own files; a source's mapping (``orchestration.ingest.sources``) for the others."""
    name = str(path.relative_to(landing_dir)) if path.is_relative_to(landing_dir) else str(path)
    try:
        fmt = source_format or file_format(path)  # a source's files have these formats too
        if source_format:
            file_format(path)
    except UnsupportedFileError as exc:
        ensure_lake(lake)
        return FileLoad(name, None, "unsupported", message=str(exc))
    return load_records(
        name,
        sha or file_sha256(path),
        fmt,
        lambda: read(path),
        lake,
        now=now,
        max_future_hours=max_future_hours,
        size_bytes=path.stat().st_size,
    )


def validate_batch(con: duckdb.DuckDBPyConnection, batch: RecordBatch) -> int:
    """Validate one batch: every record into the temp table ``validated`` (typed fields,
    ``attributes``, ``is_bad``), and the bad ones again, alone, into ``rejected`` with their
    ``errors`` and ``raw_record`` (``validate.validation_sql``; not made when none is bad).
    Returns how many are bad.

    Two passes because building ~100 error structs per record is most of a one-pass
    validator's cost even when only a few records fail: the first pass decides good or bad
    with one boolean per record, the second builds the reasons over the bad records only.

    Lines of bytes are decoded strictly when Arrow finds them all UTF-8; should DuckDB still
    refuse one, or the batch hold a line that is not UTF-8, the tolerant decode runs (which
    quarantines such a line as ``invalid_encoding``)."""
    table = batch.table
    table = table.append_column("record_index", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    columns = table.column_names
    from_bytes = "raw_bytes" in columns

    def sql(*, strict: bool, with_errors: bool) -> str:
        return validation_sql(
            numbers_as_text=batch.numbers_as_text,
            from_bytes=from_bytes,
            with_source_file="source_file" in columns,
            strict_decode=strict,
            with_errors=with_errors,
            with_record_index=True,
            mapping_errors=batch.mapped,
        )

    strict = from_bytes and all_utf8(table["raw_bytes"])
    con.register("records", table)
    try:
        try:
            con.execute(
                f"create or replace temp table validated as {sql(strict=strict, with_errors=False)}"
            )
        except duckdb.Error:
            if not strict:
                raise
            log.debug("strict UTF-8 decode failed; validating with the tolerant decode")
            strict = False
            con.execute(
                f"create or replace temp table validated as {sql(strict=False, with_errors=False)}"
            )
        bad = con.execute(
            "select record_index from validated where is_bad order by record_index"
        ).fetchnumpy()["record_index"]
    finally:
        con.unregister("records")
    if not len(bad):
        return 0  # (planning the second pass costs some 0.1 s: skipped when nothing is bad)
    con.register("records", table.take(pa.array(bad, pa.int64())))
    try:
        con.execute(
            f"create or replace temp table rejected as {sql(strict=strict, with_errors=True)}"
        )
    finally:
        con.unregister("records")
    unexplained = con.execute(
        "select count(*) filter (where len(errors) = 0), count(*) from rejected"
    ).fetchall()[0]
    if unexplained != (0, len(bad)):
        raise RuntimeError(
            f"the validator's two passes disagree: {len(bad)} bad records, "
            f"{unexplained[1]} validated again, {unexplained[0]} of them without an error"
        )
    return len(bad)


def load_records(
    name: str,
    sha: str,
    fmt: str,
    batches: Callable[[], Iterable[RecordBatch]],
    lake: Lake,
    *,
    now: datetime | None = None,
    max_future_hours: float = DEFAULT_MAX_FUTURE_HOURS,
    size_bytes: int | None = None,
    manifest_extra: dict | None = None,
) -> FileLoad:
    """The one way usage-event records reach the lake, whatever their source: validate every
    batch in SQL, write good records partitioned by event date and bad ones to quarantine, and
    publish the whole unit (a file, a database pull, an assembled set of spans) at once, keyed by
    ``sha`` (the unit's content hash): a content already published is not loaded again.

    A batch may carry a ``source_file`` column naming, per record, where it came from (a source
    that assembles records from several files); otherwise every record is from ``name``."""
    now = now or datetime.now(UTC)
    ensure_lake(lake)
    previous = lake.read_manifest(sha)
    if previous is not None:
        known = FileLoad(**{k: previous[k] for k in FileLoad.__dataclass_fields__ if k in previous})
        known.status = "already_loaded"
        known.message = f"same content as {previous['source_file']!r}, loaded {previous['loaded_at']}; nothing to do"
        known.source_file = name
        return known

    lake.start(sha)
    events_dir = lake.work_data(sha).as_posix()
    quarantine_dir = lake.work_quarantine(sha)
    quarantine_dir.mkdir(parents=True)
    params = {
        "source_file": name,
        "source_format": fmt,
        "file_sha256": sha,
        "ingested_at": now.isoformat(),
    }
    result = FileLoad(name, sha, "loaded", source_format=fmt)
    reasons: Counter[str] = Counter()
    dates: list[str] = []
    try:
        with duckdb.connect() as con:
            con.execute("set timezone = 'UTC'")
            con.execute(f"create temp table run_clock as {run_clock_sql(now, max_future_hours)}")
            for chunk, batch in enumerate(batches()):
                bad = validate_batch(con, batch)
                read = batch.table.num_rows
                result.records_read += read
                result.records_quarantined += bad
                result.records_loaded += read - bad
                if read - bad:
                    con.execute(
                        substitute(
                            f"copy (select {lake_columns_sql()} from validated where not is_bad) "
                            f"to {literal(events_dir)} (format parquet, partition_by (event_date), "
                            f"filename_pattern '{sha[:HASH_PREFIX]}-{chunk}-{{i}}', overwrite_or_ignore)",
                            params,
                        )
                    )
                    lo, hi = con.execute(
                        "select min(cast(timezone('UTC', occurred_at) as date))::varchar, "
                        "max(cast(timezone('UTC', occurred_at) as date))::varchar "
                        "from validated where not is_bad"
                    ).fetchall()[0]
                    dates += [lo, hi]
                if bad:
                    target = (quarantine_dir / f"{sha[:HASH_PREFIX]}-{chunk}.parquet").as_posix()
                    con.execute(
                        substitute(
                            f"copy (select {QUARANTINE_COLUMNS_SQL} from rejected "
                            f"order by source_file, source_row) to {literal(target)} (format parquet)",
                            params,
                        )
                    )
                    for code, count in con.execute(
                        "select errors[1].code, count(*) from rejected group by 1"
                    ).fetchall():
                        reasons[code] += count
    except Exception as exc:  # the unit stays where it was and is retried on the next run
        lake.abandon(sha)
        log.exception("could not load %s", name)
        return FileLoad(
            name, sha, "failed", source_format=fmt, message=f"{type(exc).__name__}: {exc}"
        )

    result.quarantine_by_reason = dict(sorted(reasons.items()))
    if dates:
        result.first_event_date, result.last_event_date = min(dates), max(dates)
    manifest = {
        **asdict(result),
        "loaded_at": now.isoformat(),
        "contract_version": contract_version(),
        "size_bytes": size_bytes,
        **(manifest_extra or {}),
    }
    lake.publish(sha, manifest)
    return result


def load_landing(
    landing_dir: Path,
    lake: Lake,
    *,
    now: datetime | None = None,
    on_file: Callable[[int, int, FileLoad], None] | None = None,
    files: Iterable[Path] | None = None,
    workers: int | None = None,
    max_future_hours: float = DEFAULT_MAX_FUTURE_HOURS,
    read: Callable[[Path], Iterable[RecordBatch]] = read_records,
    source_format: str | None = None,
) -> list[FileLoad]:
    """Load every landing file not loaded yet; returns one ``FileLoad`` per file seen, in order.
    ``read`` and ``source_format``: a source's mapping (``load_file``).

    Files load ``workers`` at a time (default: one per core); ``on_file`` is called as each
    finishes. Files with the same content never load at the same time: the first of them loads
    and the others, loaded after it, find its manifest and do nothing.
    """
    ensure_lake(lake)
    now = now or datetime.now(UTC)
    todo = list(files) if files is not None else landing_files(landing_dir)
    shas = [file_sha256(path) for path in todo]
    first_seen: dict[str, int] = {}
    for index, sha in enumerate(shas):
        first_seen.setdefault(sha, index)
    firsts = [i for i in range(len(todo)) if first_seen[shas[i]] == i]
    repeats = [i for i in range(len(todo)) if first_seen[shas[i]] != i]

    results: list[FileLoad | None] = [None] * len(todo)
    done = 0

    def finished(index: int, outcome: FileLoad) -> None:
        nonlocal done
        results[index] = outcome
        done += 1
        if on_file:
            on_file(done, len(todo), outcome)

    load = partial(
        load_file,
        now=now,
        max_future_hours=max_future_hours,
        read=read,
        source_format=source_format,
    )
    with ThreadPoolExecutor(max_workers=workers or max(1, os.cpu_count() or 1)) as pool:
        futures = {pool.submit(load, todo[i], landing_dir, lake, sha=shas[i]): i for i in firsts}
        for future in as_completed(futures):
            finished(futures[future], future.result())
    for i in repeats:
        finished(i, load(todo[i], landing_dir, lake, sha=shas[i]))
    return [r for r in results if r is not None]


def summarize(results: list[FileLoad]) -> dict:
    """Totals over one run, for asset metadata and the command line."""
    by_status = Counter(r.status for r in results)
    loaded = [r for r in results if r.status == "loaded"]
    reasons: Counter[str] = Counter()
    for r in loaded:
        reasons.update(r.quarantine_by_reason)
    return {
        "files_seen": len(results),
        "files_loaded": by_status["loaded"],
        "files_already_loaded": by_status["already_loaded"],
        "files_unsupported": by_status["unsupported"],
        "files_failed": by_status["failed"],
        "records_read": sum(r.records_read for r in loaded),
        "records_loaded": sum(r.records_loaded for r in loaded),
        "records_quarantined": sum(r.records_quarantined for r in loaded),
        "quarantine_by_reason": dict(sorted(reasons.items())),
    }


def as_json(results: list[FileLoad]) -> str:
    return json.dumps([asdict(r) for r in results], indent=2)
