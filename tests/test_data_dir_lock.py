"""One writer per data directory (orchestration/data_lock.py): two `llm-margin materialize` at
once, a command against a Dagster step, a holder killed with -9.

The shared build of tests/conftest.py is itself made by two commands started at once; the first
test reads what each printed."""

from __future__ import annotations

import inspect
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CONCURRENT_MATERIALIZE
from dagster import DagsterInstance, RunsFilter, materialize

from orchestration.cli import DATA_DIR_BUSY
from orchestration.data_lock import LOCK_FILE, DataDirBusy, hold, step_lock
from orchestration.instance import PID_TAG
from orchestration.paths import DATA_DIR_ENV
from orchestration.pools import WAREHOUSE_POOL

# A process that holds the lock of the data directory argv[1] until it is killed.
HOLDER = """
import sys, time
from orchestration.data_lock import hold
with hold(sys.argv[1], "a test holder"):
    print("held", flush=True)
    time.sleep(600)
"""


class Holder:
    def __init__(self, root: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(root)], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout.readline() == "held\n"
        self.pid = self.process.pid

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)  # no cleanup of its own: only the OS can release
        self.process.wait(timeout=30)


@pytest.fixture
def holder(tmp_path: Path):
    root = tmp_path / "data"
    held = Holder(root)
    yield held
    if held.process.poll() is None:
        held.kill()


def test_two_materialize_started_at_once_one_builds_and_the_other_refuses(built):
    outcomes = json.loads((built.root.parent / CONCURRENT_MATERIALIZE).read_text())
    winner, loser = sorted(outcomes, key=lambda o: o["code"])
    assert winner["code"] == 0 and "materialize succeeded" in winner["printed"]
    assert loser["code"] == DATA_DIR_BUSY
    printed = " ".join(loser["printed"].split())  # rich wraps long lines
    assert (
        f"the data directory {built.root} is in use by llm-margin materialize "
        f"(process {winner['pid']} on {socket.gethostname()}, since 20" in printed
    ), printed
    assert "--wait" in printed and "materializing everything" not in printed
    # the refused command started no run: the one run of the two is the builder's, and it is
    # the run the landing state was recorded for (the build every other test checks)
    instance = DagsterInstance.from_config(str(built.dagster_home))
    by_pid = {
        o["pid"]: instance.get_runs(filters=RunsFilter(tags={PID_TAG: str(o["pid"])}))
        for o in outcomes
    }
    assert by_pid[loser["pid"]] == [] and len(by_pid[winner["pid"]]) == 1
    assert by_pid[winner["pid"]][0].run_id in winner["printed"]


def test_materialize_refuses_a_held_data_dir_without_touching_it(holder, tmp_path):
    root = tmp_path / "data"
    env = {**os.environ, DATA_DIR_ENV: str(root)}
    env.pop("DAGSTER_HOME", None)
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "materialize"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == DATA_DIR_BUSY, done.stdout + done.stderr
    message = " ".join(done.stderr.split())
    assert (
        f"the data directory {root} is in use by a test holder (process {holder.pid} on "
        f"{socket.gethostname()}, since 20" in message
    ), message
    assert "llm-margin materialize --wait" in message
    # it created nothing: no instance, no log, no lake
    assert sorted(p.name for p in root.iterdir()) == [LOCK_FILE]


def test_materialize_wait_starts_once_the_holder_is_killed(holder, tmp_path):
    root = tmp_path / "data"
    env = {**os.environ, DATA_DIR_ENV: str(root)}
    env.pop("DAGSTER_HOME", None)
    waiter = subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "materialize", "--wait"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, killed whole at the end
    )
    try:
        first = waiter.stdout.readline()
        assert f"waiting for a test holder (process {holder.pid} on" in first, first
        # on one line, however long the path: a wrapped path cannot be copied or searched for
        assert first.rstrip("\n").endswith(f"to finish with {root}"), first
        assert waiter.poll() is None  # still waiting
        holder.kill()
        second = waiter.stdout.readline()
        assert second.startswith("materializing everything in"), second
        # it holds the lock now, and says so in the lock file
        assert json.loads((root / LOCK_FILE).read_text())["pid"] == waiter.pid
    finally:
        os.killpg(waiter.pid, signal.SIGKILL)
        waiter.wait(timeout=30)


def test_a_holder_killed_with_minus_9_leaves_no_stale_lock(holder, tmp_path):
    root = tmp_path / "data"
    with pytest.raises(DataDirBusy, match=f"process {holder.pid} on"):
        with hold(root, "a second writer"):
            pass
    holder.kill()
    # the lock file is still there, naming the dead holder; the lock is not
    assert json.loads((root / LOCK_FILE).read_text())["pid"] == holder.pid
    with hold(root, "a second writer"):
        assert json.loads((root / LOCK_FILE).read_text())["pid"] == os.getpid()


def test_the_process_holding_the_lock_runs_its_own_writer_steps(tmp_path):
    # `llm-margin materialize` holds it for the run, and its in-process steps take it again
    root = tmp_path / "data"
    with hold(root, "llm-margin materialize"):
        with step_lock(root, "dbt"), step_lock(root, "serving"):
            pass
        assert json.loads((root / LOCK_FILE).read_text())["what"] == "llm-margin materialize"
    # released: another process can take it
    taken = subprocess.run(
        [sys.executable, "-c", HOLDER.replace("time.sleep(600)", "pass"), str(root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert taken.stdout == "held\n", taken.stderr


def _writer_ops():
    from orchestration.definitions import defs
    from orchestration.rebuild import rebuild_days_op

    ops = [rebuild_days_op]
    ops += [a.op for a in defs.assets if getattr(a, "op", None) is not None]
    ops += [c.op for c in defs.asset_checks or []]
    return [op for op in ops if op.pool == WAREHOUSE_POOL]


def test_every_writer_step_fails_while_another_process_holds_the_data_dir(
    holder, tmp_path, monkeypatch
):
    from orchestration.settings import Settings

    root = tmp_path / "data"
    monkeypatch.setenv(DATA_DIR_ENV, str(root))  # the checks that take no settings read it
    settings = Settings(data_dir=str(root))
    ops = _writer_ops()
    # ingestion of each source, price rules, model resolutions, dbt, serving, report, alerts,
    # cap list, the rebuild job, and the checks that open the warehouse
    assert len(ops) >= 20, [op.name for op in ops]
    for op in ops:
        compute = op.compute_fn.decorated_fn
        known = {"context": None, "settings": settings, "dbt": None}
        arguments = {name: known[name] for name in inspect.signature(compute).parameters}
        with pytest.raises(DataDirBusy, match=f"a test holder \\(process {holder.pid} on"):
            result = compute(**arguments)
            if inspect.isgenerator(result):
                next(result)

    # and through Dagster: the step fails with the message naming the holder
    from orchestration.pricing.assets import lake_price_rules

    result = materialize([lake_price_rules], resources={"settings": settings}, raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error.to_string()
    assert f"is in use by a test holder (process {holder.pid} on" in failure, failure
    assert "the next run (schedule, sensor or a re-execution) does it" in failure
