"""The landing sensor: start ingestion and the incremental build when landing files change.

The cursor is a digest of every settled landing file's relative path, size and mtime: a new,
replaced or grown file changes it. The run_key is the digest, so one landing state starts at most
one run, even if the cursor were lost (Dagster skips a run_key it has already launched). A file
modified in the last ``SETTLE_SECONDS`` may still be being written: it waits for a later tick.
"""

import hashlib
import json
import time
from pathlib import Path

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from orchestration.jobs import ingest_and_build_job
from orchestration.paths import data_paths

SETTLE_SECONDS = 10
INTERVAL_SECONDS = 30
IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")


def landing_state(landing: Path, now: float | None = None) -> tuple[dict[str, str], int]:
    """Settled files as {relative path: "size:mtime_ns"}, and how many are still settling."""
    now = time.time() if now is None else now
    files: dict[str, str] = {}
    settling = 0
    if not landing.exists():
        return files, settling
    for path in sorted(landing.rglob("*")):
        if not path.is_file() or path.name.startswith(".") or path.name.endswith(IGNORED_SUFFIXES):
            continue
        stat = path.stat()
        if now - stat.st_mtime < SETTLE_SECONDS:
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


def evaluate_landing(context: SensorEvaluationContext, now: float | None = None):
    files, settling = landing_state(data_paths().landing, now)
    previous = _cursor(context.cursor)
    current = digest(files)
    if not files:
        return SkipReason(f"no landing files ({settling} still being written)")
    if previous.get("digest") == current:
        return SkipReason(
            f"no new or changed landing files ({len(files)} known"
            + (f", {settling} still being written)" if settling else ")")
        )
    known = previous.get("files", {})
    changed = sorted(name for name, sig in files.items() if known.get(name) != sig)
    context.update_cursor(json.dumps({"digest": current, "files": files}))
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
