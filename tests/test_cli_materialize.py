"""`llm-margin materialize`: a short output, the full logs in a file, the run on the persistent
Dagster instance that `make dagster` shows, and no rebuild by the landing sensor afterwards.

The end-to-end test reads the shared build of tests/conftest.py (``generated_and_built``) rather
than running another one; it comes first in file order, before modules that add data."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
from conftest import MATERIALIZE_OUTPUT
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    RunsFilter,
    SkipReason,
    build_sensor_context,
)
from dagster._core.storage.dagster_run import DagsterRun

from orchestration.instance import (
    DAGSTER_YAML,
    HOST_TAG,
    PID_TAG,
    TRIGGER_TAG,
    fail_abandoned_cli_runs,
    persistent_instance,
)
from orchestration.progress import DbtNodes, quiet_output
from orchestration.sensors.landing import SETTLE_SECONDS, evaluate_landing


def test_materialize_is_quiet_logs_to_a_file_and_runs_on_the_shared_instance(built):
    printed = (built.root.parent / MATERIALIZE_OUTPUT).read_text()
    lines = printed.splitlines()
    assert 4 <= len(lines) < 40, printed
    assert "materialize succeeded" in printed
    # none of Dagster's or dbt's own lines
    assert " - dagster - " not in printed and "START sql" not in printed, printed

    # the full logs are in the file the output names, under the data directory
    log = Path(re.search(r"full log: (\S+\.log)", printed)[1])
    assert log.parent == built.logs and log.is_file()
    text = log.read_text()
    results = re.findall(r"\b(\d+) of (\d+) (?:OK|PASS|WARN|NO-OP) (?!hook:)", text)
    total = int(results[0][1])
    assert total > 100 and {int(n) for n, _ in results} == set(range(1, total + 1))
    # the summary counts what the run did
    assert f"{total} of {total} nodes built or tested" in printed
    landing = json.loads(built.landing_loaded.read_text())
    assert f"  landing  {len(landing['files'])} new files loaded" in printed
    quarantined = sum(
        pq.read_metadata(p).num_rows for p in (built.lake / "quarantine").rglob("*.parquet")
    )
    assert quarantined > 0 and f"{quarantined:,} records quarantined" in printed
    assert re.search(r"checks +\d{2,} passed, \d+ warned, 0 failed", printed), printed

    # the run, its materializations and check results are in <data dir>/dagster_home
    assert (built.dagster_home / "dagster.yaml").read_text() == DAGSTER_YAML
    instance = DagsterInstance.from_config(str(built.dagster_home))
    runs = instance.get_runs(filters=RunsFilter(tags={TRIGGER_TAG: "cli"}))
    first = runs[-1]  # the oldest: later modules add runs
    assert first.job_name == "llm_margin_materialize" and first.status == DagsterRunStatus.SUCCESS
    assert first.run_id in printed and landing["run_id"] == first.run_id
    materialized = instance.get_records_for_run(
        first.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=1000
    ).records
    keys = {r.event_log_entry.asset_materialization.asset_key for r in materialized}
    assert {AssetKey(["lake", "usage_events"]), AssetKey(["marts", "fct_tasks"])} <= keys
    checks = instance.get_records_for_run(
        first.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION, limit=1000
    ).records
    assert len(checks) > 100

    # the landing sensor's first tick on that instance builds nothing again
    context = build_sensor_context(instance=instance)
    tick = evaluate_landing(context, now=time.time() + SETTLE_SECONDS + 1)
    assert isinstance(tick, SkipReason) and "already loaded by llm-margin materialize" in str(
        tick.skip_message
    )


def test_dbt_result_lines_are_counted_once_per_node_and_hooks_are_not_nodes():
    nodes = DbtNodes()
    assert not nodes.add_line(
        "1 of 1 OK hook: llm_margin.on-run-start.0 ....... [\x1b[32mOK\x1b[0m]"
    )
    assert not nodes.add_line("12 of 223 START sql view model audit.usage_event_file_loads [RUN]")
    assert nodes.add_line(
        "12 of 223 OK created sql view model audit.x .. [\x1b[32mOK\x1b[0m in 0.1s]"
    )
    assert nodes.add_line("13 of 223 PASS not_null_x .... [PASS in 0.1s]")
    assert nodes.add_line("14 of 223 ERROR creating sql table model marts.y [ERROR in 0.1s]")
    assert nodes.add_line("13 of 223 PASS not_null_x .... [PASS in 0.1s]")  # repeated
    assert nodes.add_line(
        "15 of 223 FAIL 2 unique_fct_x_id ............ [\x1b[31mFAIL 2\x1b[0m in 0.2s]"
    )
    assert (nodes.total, len(nodes.done), nodes.count("ERROR", "FAIL")) == (223, 4, 2)
    # the summary names what errored or failed, not only how many
    assert nodes.problems == {
        14: "ERROR creating sql table model marts.y",
        15: "FAIL 2 unique_fct_x_id",
    }


def test_quiet_output_sends_everything_to_the_log_file(tmp_path):
    log = tmp_path / "logs" / "run.log"
    screen = io.StringIO()
    with contextlib.redirect_stdout(screen), quiet_output(log) as shown:
        print("from python")
        print("to stderr", file=sys.stderr)
        os.write(1, b"from fd 1\n")
        os.write(2, b"from fd 2\n")
        subprocess.run([sys.executable, "-c", "print('from a child')"], check=True)
        shown.write("progress\n")
    text = log.read_text()
    for line in ("from python", "to stderr", "from fd 1", "from fd 2", "from a child"):
        assert line in text
    assert "progress" not in text
    assert screen.getvalue() == "progress\n"
    print("after")  # and the streams are back
    assert screen.getvalue() == "progress\n" and "after" not in log.read_text()


def test_a_killed_cli_run_is_marked_failed_and_frees_its_pool_slot(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    instance = persistent_instance()  # creates the directory and its dagster.yaml
    assert (tmp_path / "home" / "dagster.yaml").read_text() == DAGSTER_YAML
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    host = socket.gethostname()
    for run_id, pid in (("killed", gone.pid), ("running", os.getppid())):
        instance.add_run(
            DagsterRun(
                job_name="llm_margin_materialize",
                run_id=run_id,
                status=DagsterRunStatus.STARTED,
                tags={TRIGGER_TAG: "cli", PID_TAG: str(pid), HOST_TAG: host},
            )
        )
    storage = instance.event_log_storage
    storage.initialize_concurrency_limit_to_default("warehouse_writer")
    storage.claim_concurrency_slot("warehouse_writer", "killed", "ingest_usage_events")
    assert storage.get_concurrency_info("warehouse_writer").claimed_slots

    assert fail_abandoned_cli_runs(instance) == ["killed"]
    assert instance.get_run_by_id("killed").status == DagsterRunStatus.FAILURE
    assert instance.get_run_by_id("running").status == DagsterRunStatus.STARTED
    assert storage.get_concurrency_info("warehouse_writer").claimed_slots == []


def test_without_a_terminal_progress_prints_waiting_and_failed_steps_only():
    from types import SimpleNamespace

    from dagster import DagsterEventType
    from rich.console import Console

    from orchestration.progress import LiveProgress

    screen = io.StringIO()
    progress = LiveProgress(Console(file=screen, width=160))
    assert not progress.interactive

    def event(kind, step, message=""):
        return SimpleNamespace(event_type=kind, step_key=step, message=message)

    with progress:
        progress.on_event(event(DagsterEventType.STEP_START, "ingest_billing"))
        progress.on_event(event(DagsterEventType.STEP_SUCCESS, "ingest_billing"))  # fast: quiet
        blocked = "Step blocked by limit for pool warehouse_writer"
        progress.on_event(event(DagsterEventType.ENGINE_EVENT, "dbt", blocked))
        progress.on_event(event(DagsterEventType.ENGINE_EVENT, "dbt", "Step still b" + blocked[6:]))
        progress.on_event(event(DagsterEventType.STEP_START, "dbt"))
        progress.on_event(
            SimpleNamespace(
                event_type=DagsterEventType.STEP_FAILURE,
                step_key="dbt",
                message="",
                step_failure_data=None,
            )
        )
    assert screen.getvalue().splitlines() == [
        "  dbt: waiting, another run holds warehouse_writer",
        "  dbt: failed (0 s)",
    ]
    assert progress.summary.failed_steps == [("dbt", "")]
