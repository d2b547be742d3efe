"""The landing sensor: start ingestion and the incremental build when landing files change.

The cursor is a digest of every settled landing file's relative path, size and mtime: a new,
replaced or grown file changes it. The run_key is the digest, so one landing state starts at most
one run, even if the cursor were lost (Dagster skips a run_key it has already launched). A file
modified in the last ``SETTLE_SECONDS`` may still be being written: it waits for a later tick;
hidden (``.x``, ``_x``) and partial (``*.tmp``, ``*.part``) names are skipped, as ingestion skips them.

``llm-margin materialize`` loads landing outside the sensor: when its run succeeds it records the
landing state it loaded in ``$LLM_MARGIN_DATA_DIR/landing_loaded.json`` (``loaded_state``,
``record_loaded``). A tick
whose settled files are all in that record, unchanged, and for the same dbt target, starts no run:
that state is built already (so the first tick after ``make run`` does not rebuild everything).
"""

import hashlib
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from orchestration.jobs import ingest_and_build_job
from orchestration.paths import DBT_TARGET_ENV, DEFAULT_DBT_TARGET, DataPaths, data_paths

SETTLE_SECONDS = 10
INTERVAL_SECONDS = 30
IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")


def landing_state(
    landing: Path, now: float | None = None, settle_seconds: float = SETTLE_SECONDS
) -> tuple[dict[str, str], int]:
    """Settled files as {relative path: "size:mtime_ns"}, and how many are still settling
    (modified less than ``settle_seconds`` ago)."""
    now = time.time() if now is None else now
    files: dict[str, str] = {}
    settling = 0
    if not landing.exists():
        return files, settling
    for path in sorted(landing.rglob("*")):
        if (
            not path.is_file()
            or path.name.startswith((".", "_"))
            or path.name.endswith(IGNORED_SUFFIXES)
        ):
            continue
        stat = path.stat()
        if now - stat.st_mtime < settle_seconds:
            settling += 1
            continue
        files[path.relative_to(landing).as_posix()] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return files, settling


def digest(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:24]


def _cursor(raw: str | None) -> dict:
    try:
        return json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return {}


def _dbt_target() -> str:
    return os.environ.get(DBT_TARGET_ENV) or DEFAULT_DBT_TARGET


def snapshot_landing(paths: DataPaths) -> dict[str, str]:
    """Every landing file the sensor would consider, settled or not: what a load about to start
    will find (``llm-margin materialize`` takes it before its run, then ``record_loaded``)."""
    files, _ = landing_state(paths.landing, settle_seconds=0)
    return files


def loaded_state(paths: DataPaths, before: dict[str, str], loaded_shas: set[str]) -> dict[str, str]:
    """The landing state a successful run loaded: ``before`` (its ``snapshot_landing`` at the
    start), plus each file that appeared or changed during the run and whose content the run
    loaded (its SHA-256 is in ``loaded_shas``), e.g. the pricing catalog export the run writes.
    A file that arrived too late for the run's ingestion stays out: the sensor will load it."""
    from orchestration.ingest.lake import file_sha256

    state = dict(before)
    for name, sig in snapshot_landing(paths).items():
        if before.get(name) != sig:
            try:
                if file_sha256(paths.landing / name) in loaded_shas:
                    state[name] = sig
            except OSError:
                continue
    return state


def record_loaded(paths: DataPaths, files: dict[str, str], run_id: str) -> Path:
    """Record that a run outside the sensor loaded and built the landing state ``files``."""
    record = {
        "digest": digest(files),
        "files": files,
        "dbt_target": _dbt_target(),
        "run_id": run_id,
        "loaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    target = paths.landing_loaded
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(record, indent=1, sort_keys=True))
    os.replace(partial, target)
    return target


def loaded_record(paths: DataPaths) -> dict:
    """What ``record_loaded`` last wrote ({} when nothing, or unreadable)."""
    try:
        record = json.loads(paths.landing_loaded.read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) and isinstance(record.get("files"), dict) else {}


def evaluate_landing(context: SensorEvaluationContext, now: float | None = None):
    paths = data_paths()
    files, settling = landing_state(paths.landing, now)
    previous = _cursor(context.cursor)
    current = digest(files)
    if not files:
        return SkipReason(f"no landing files ({settling} still being written)")
    still_writing = f", {settling} still being written)" if settling else ")"
    if previous.get("digest") == current:
        return SkipReason(f"no new or changed landing files ({len(files)} known" + still_writing)
    cursor = json.dumps({"digest": current, "files": files})
    loaded = loaded_record(paths)
    if loaded.get("dbt_target") == _dbt_target() and files.items() <= loaded["files"].items():
        # llm-margin materialize loaded and built every one of these files as they are now
        context.update_cursor(cursor)
        return SkipReason(
            f"landing state already loaded by llm-margin materialize (run {loaded.get('run_id')}, "
            f"{loaded.get('loaded_at')}; {len(files)} files" + still_writing
        )
    known, built = previous.get("files", {}), loaded.get("files", {})
    changed = sorted(n for n, sig in files.items() if sig not in (known.get(n), built.get(n)))
    context.update_cursor(cursor)
    return RunRequest(
        run_key=f"landing:{current}",
        tags={"llm_margin/trigger": "landing", "llm_margin/changed_files": str(len(changed))},
    )


@sensor(
    name="landing_sensor",
    job=ingest_and_build_job,
    minimum_interval_seconds=INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "Starts ingest_and_build when files under $LLM_MARGIN_DATA_DIR/landing/ are new or "
        "changed (path, size, mtime; settled for 10 s). One run per landing state (run_key)."
    ),
)
def landing_sensor(context: SensorEvaluationContext):
    return evaluate_landing(context)
