"""What ``llm-margin materialize`` shows while it runs, and the summary it ends with.

The full Dagster and dbt output goes to a log file (``quiet_output``): everything written to file
descriptors 1 and 2, by this process and its children (dbt), and to ``sys.stdout``/``sys.stderr``.
Progress comes from two places: the run's Dagster events, through a Dagster logger
(``progress_logger``), and dbt's ``n of N`` result lines, read back from the log file as they
are written (``DbtLineFollower``). Both only count: a line that does not parse is just not counted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from orchestration.ingest.lake import LOADED_SHAS

# dbt's result line of one node, e.g. "101 of 223 OK created sql incremental model marts.x ..."
# (colour codes removed first); hooks ("1 of 1 OK hook: ...") are not nodes.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_NODE_TAIL = re.compile(r" \.{2,}| \[")  # the dots and "[ERROR in 0.1s]" after a node's name
_DBT_RESULT = re.compile(r"\b(\d+) of (\d+) (OK|PASS|WARN|ERROR|FAIL|SKIP|NO-OP)\b(?!.*\bhook:)")


@dataclass
class DbtNodes:
    """dbt nodes finished so far (by status) out of ``total``."""

    total: int = 0
    done: dict[int, str] = field(default_factory=dict)
    # what dbt said of each node that errored or failed, e.g. "ERROR creating sql table model x"
    problems: dict[int, str] = field(default_factory=dict)

    def add_line(self, line: str) -> bool:
        text = _ANSI.sub("", line)
        match = _DBT_RESULT.search(text)
        if not match:
            return False
        index, total, status = int(match[1]), int(match[2]), match[3]
        self.total = max(self.total, total)
        self.done[index] = status
        if status in ("ERROR", "FAIL"):
            self.problems[index] = _NODE_TAIL.split(text[match.start(3) :], 1)[0].strip()
        return True

    def count(self, *statuses: str) -> int:
        return sum(s in statuses for s in self.done.values())


@dataclass
class RunSummary:
    """What a run did, from its Dagster events."""

    loaded_files: set[str] = field(default_factory=set)
    records_read: int = 0
    records_quarantined: int = 0
    materializations: dict[str, int] = field(default_factory=dict)  # per step
    checks_passed: int = 0
    checks_warned: list[str] = field(default_factory=list)
    checks_failed: list[str] = field(default_factory=list)
    failed_steps: list[tuple[str, str]] = field(default_factory=list)  # (step, error)
    skipped_steps: int = 0
    run_failure: str | None = None

    def add(self, event: Any) -> None:
        from dagster import AssetCheckSeverity, DagsterEventType

        kind = event.event_type
        if kind == DagsterEventType.ASSET_MATERIALIZATION:
            step = event.step_key or "?"
            self.materializations[step] = self.materializations.get(step, 0) + 1
            materialization = event.step_materialization_data.materialization
            metadata = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
            shas = metadata.get(LOADED_SHAS)
            if isinstance(shas, list):
                self.loaded_files.update(str(s) for s in shas)
                self.records_read += _int(metadata.get("records_read"))
            if materialization.asset_key.path[-1].endswith("quarantine"):
                self.records_quarantined += _int(
                    metadata.get("records_quarantined", metadata.get("rows_quarantined"))
                )
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            if evaluation.passed:
                self.checks_passed += 1
            elif evaluation.severity == AssetCheckSeverity.WARN:
                self.checks_warned.append(name)
            else:
                self.checks_failed.append(name)
        elif kind == DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error if event.step_failure_data else None
            while error is not None and error.cause is not None:  # the root cause says most
                error = error.cause
            message = (error.message if error else event.message or "").strip().splitlines()
            self.failed_steps.append((event.step_key or "?", message[0] if message else ""))
        elif kind == DagsterEventType.STEP_SKIPPED:
            self.skipped_steps += 1
        elif kind == DagsterEventType.RUN_FAILURE:
            lines = (event.message or "run failed").strip().splitlines()
            self.run_failure = lines[0] if lines else "run failed"

    @classmethod
    def of(cls, events: Iterable[Any]) -> RunSummary:
        summary = cls()
        for event in events:
            summary.add(event)
        return summary


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


class _EventHandler(logging.Handler):
    def __init__(self, on_event: Callable[[Any], None]) -> None:
        super().__init__(logging.NOTSET)
        self._on_event = on_event

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None)
        event = meta.get("dagster_event") if isinstance(meta, dict) else None
        if event is not None:
            try:
                self._on_event(event)
            except Exception:  # progress must never break a run
                pass


def progress_logger(on_event: Callable[[Any], None]):
    """A Dagster logger that passes every Dagster event of the run to ``on_event``."""
    from dagster import logger

    @logger(description="Feeds the progress display of llm-margin materialize.")
    def llm_margin_progress(_init_context) -> logging.Logger:
        log = logging.Logger("llm_margin.progress", level=logging.DEBUG)
        log.addHandler(_EventHandler(on_event))
        return log

    return llm_margin_progress


class DbtLineFollower(threading.Thread):
    """Reads ``path`` as it grows and passes each new line to ``on_line`` (dbt's result lines)."""

    def __init__(self, path: Path, on_line: Callable[[str], None], interval: float = 0.2) -> None:
        super().__init__(name="dbt-line-follower", daemon=True)
        self._path, self._on_line, self._interval = path, on_line, interval
        self._stopping = threading.Event()

    def run(self) -> None:
        with open(self._path, encoding="utf-8", errors="replace") as handle:
            pending = ""
            while True:
                chunk = handle.read()
                if chunk:
                    pending += chunk
                    *lines, pending = pending.split("\n")
                    for line in lines:
                        with contextlib.suppress(Exception):
                            self._on_line(line)
                elif self._stopping.is_set():
                    return
                else:
                    time.sleep(self._interval)

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=10)


def _fileno(stream: Any) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


@contextlib.contextmanager
def quiet_output(log_path: Path) -> Iterator[IO[str]]:
    """Send all output to ``log_path`` while the block runs: file descriptors 1 and 2 (this
    process, dbt and any other child) and ``sys.stdout``/``sys.stderr``. Yields a stream on the
    original standard output for the progress display."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    original = sys.stdout
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    fd = _fileno(original)
    # the original stdout is about to point at the log file: keep a copy of it for progress
    shown = os.fdopen(os.dup(fd), "w", encoding="utf-8", buffering=1) if fd in (1, 2) else original
    saved = {n: os.dup(n) for n in (1, 2)}
    log = open(log_path, "a", encoding="utf-8", buffering=1)
    try:
        for n in (1, 2):
            os.dup2(log.fileno(), n)
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            yield shown
    finally:
        with contextlib.suppress(Exception):
            log.flush()
        for n, copy in saved.items():
            os.dup2(copy, n)
            os.close(copy)
        log.close()
        if shown is not original:
            shown.close()


# Without a terminal (make in CI, a pipe) there is no live display: a line per step that took at
# least this long, or failed, shows the run is moving.
SLOW_STEP_SECONDS = 10.0


class LiveProgress:
    """The progress display of one run: the current step and, during dbt, ``n of N`` nodes. On a
    terminal a transient rich display; otherwise a line per slow or failed step."""

    def __init__(self, console: Any) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = console
        self.interactive = bool(console.is_terminal)
        self.summary = RunSummary()
        self.dbt = DbtNodes()
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not self.interactive,
            # the run's own output goes to the log file (quiet_output), not through the display
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._steps = self._progress.add_task("starting the run", total=None)
        self._dbt_task: Any = None
        self._steps_done = 0
        self._started: dict[str, float] = {}

    def __enter__(self) -> LiveProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def on_event(self, event: Any) -> None:
        from dagster import DagsterEventType

        self.summary.add(event)
        kind, step = event.event_type, event.step_key
        message = event.message or ""
        if (
            kind == DagsterEventType.ENGINE_EVENT
            and step
            and "blocked by limit for pool" in message
        ):
            # another run (say, one the UI's sensor started) holds the pool's one slot
            waiting = f"{step}: waiting, another run holds {message.rsplit(' ', 1)[-1]}"
            self._progress.update(self._steps, description=waiting)
            if not self.interactive and not message.startswith("Step still"):
                self.console.print(f"  {waiting}")
        elif kind == DagsterEventType.STEP_START and step:
            self._started[step] = time.monotonic()
            self._progress.update(self._steps, description=f"step {step}")
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE) and step:
            self._steps_done += 1
            self._progress.update(self._steps, completed=self._steps_done)
            seconds = time.monotonic() - self._started.get(step, time.monotonic())
            failed = kind == DagsterEventType.STEP_FAILURE
            if not self.interactive and (failed or seconds >= SLOW_STEP_SECONDS):
                self.console.print(f"  {step}: {'failed' if failed else 'done'} ({seconds:,.0f} s)")

    def on_dbt_line(self, line: str) -> None:
        if not self.dbt.add_line(line):
            return
        if self._dbt_task is None:
            self._dbt_task = self._progress.add_task("dbt build: nodes", total=self.dbt.total)
        self._progress.update(self._dbt_task, completed=len(self.dbt.done), total=self.dbt.total)
