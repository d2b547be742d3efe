"""The one persistent Dagster instance that ``llm-margin materialize`` and ``make dagster`` share.

``$DAGSTER_HOME`` (default ``$LLM_MARGIN_DATA_DIR/dagster_home``) holds it: runs, the event log
(materializations, check results), sensor cursors. It is created when missing, with the
``dagster.yaml`` below (every pool one step at a time, so writers of the lake and the warehouse
never overlap: docs/budgets.md; and no "Join the Dagster community" dialog over the first page
the UI shows). An existing ``dagster.yaml`` is left alone.

``python -m orchestration.instance`` does the same for the Makefile (``make dagster``).
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from orchestration.paths import data_paths

DAGSTER_HOME_ENV = "DAGSTER_HOME"
DAGSTER_YAML = "concurrency:\n  pools:\n    default_limit: 1\nnux:\n  enabled: false\n"

# Tags on the runs of `llm-margin materialize`: which process ran it, to tell a run whose process
# died (killed, machine rebooted) from one still running (see fail_abandoned_cli_runs).
TRIGGER_TAG = "llm_margin/trigger"
PID_TAG = "llm_margin/pid"
HOST_TAG = "llm_margin/host"


def dagster_home() -> Path:
    """``$DAGSTER_HOME`` made absolute, else ``$LLM_MARGIN_DATA_DIR/dagster_home``."""
    configured = os.environ.get(DAGSTER_HOME_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    return data_paths().dagster_home


def ensure_dagster_home(home: Path | None = None) -> tuple[Path, bool]:
    """Create the instance directory and its ``dagster.yaml`` when missing; export
    ``$DAGSTER_HOME`` for this process. Returns the directory and whether the yaml was written."""
    home = dagster_home() if home is None else home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    written = False
    if not config.exists():
        partial = home / f".dagster.yaml.{os.getpid()}.tmp"
        partial.write_text(DAGSTER_YAML)
        os.replace(partial, config)
        written = True
    os.environ[DAGSTER_HOME_ENV] = str(home)
    return home, written


def persistent_instance():
    """The shared instance (``DagsterInstance.get()`` on the ensured ``$DAGSTER_HOME``)."""
    from dagster import DagsterInstance

    ensure_dagster_home()
    return DagsterInstance.get()


def cli_run_tags() -> dict[str, str]:
    return {TRIGGER_TAG: "cli", PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_abandoned_cli_runs(instance) -> list[str]:
    """Mark failed the runs of `llm-margin materialize` on this host whose process is gone, and
    free the pool slots they held: otherwise a killed run keeps the ``warehouse_writer`` slot
    and every later run waits for it forever. Returns their run ids."""
    from dagster import DagsterRunStatus, RunsFilter

    host = socket.gethostname()
    abandoned = []
    runs = instance.get_runs(
        filters=RunsFilter(
            statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING],
            tags={TRIGGER_TAG: "cli", HOST_TAG: host},
        )
    )
    for run in runs:
        try:
            pid = int(run.tags.get(PID_TAG, ""))
        except ValueError:
            continue
        if pid == os.getpid() or _process_alive(pid):
            continue
        instance.report_run_failed(
            run, f"llm-margin materialize (process {pid}) ended without finishing this run"
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        abandoned.append(run.run_id)
    return abandoned


def main() -> int:
    home, written = ensure_dagster_home()
    if written:
        print(f"wrote {home / 'dagster.yaml'} (pool limit 1: one warehouse writer at a time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
