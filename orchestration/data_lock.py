"""One writer per data directory: an OS file lock every writer of the lake or the warehouse holds.

``$LLM_MARGIN_DATA_DIR/.llm-margin.lock`` is locked with ``flock`` by ``llm-margin materialize``
for its whole run, and by every Dagster step in the ``warehouse_writer`` pool for the step's
length (runs of ``make dagster``'s sensors, schedules and UI execute their steps in processes of
their own). The operating system releases the lock when its process ends, however it ends
(``kill -9`` included), so a lock is never stale. While it holds the lock a process writes into
the file who it is (process id, host, since when, what), for the message of the one it refuses.

The Dagster instance's pool (orchestration/pools.py) already keeps the steps of runs on one
instance apart; this lock also holds when two processes use different instances or an instance
without the pool limit, and keeps a whole command-line build from interleaving with another.

A process that holds the lock may take it again (nested ``hold``): the in-process run of
``llm-margin materialize`` takes it once in the command and again in each writer step.
docs/data-directory.md, "One writer at a time".
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import inspect
import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

LOCK_FILE = ".llm-margin.lock"


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) the lock, as written into the lock file."""

    pid: int | None
    host: str
    started_at: str
    what: str

    def describe(self) -> str:
        if self.pid is None:
            return "another process (it has not written its name yet)"
        return f"{self.what} (process {self.pid} on {self.host}, since {self.started_at})"


class DataDirBusy(RuntimeError):
    """Another process holds the data directory's lock; the message names it."""

    def __init__(self, root: Path, holder: Holder, advice: str) -> None:
        self.root = root
        self.holder = holder
        super().__init__(
            f"the data directory {root} is in use by {holder.describe()}: only one process "
            f"may write it at a time. {advice}"
        )


def lock_path(root: Path) -> Path:
    return Path(root) / LOCK_FILE


# The locks this process holds: data directory → (file descriptor, depth of nested holds).
_held: dict[Path, tuple[int, int]] = {}
_held_pid = os.getpid()
_guard = threading.Lock()


def _holds(root: Path) -> bool:
    global _held, _held_pid
    if _held_pid != os.getpid():  # a forked child does not hold its parent's locks
        _held, _held_pid = {}, os.getpid()
    return root in _held


def read_holder(root: Path) -> Holder:
    """The holder written in the lock file (empty fields while none is written)."""
    try:
        data = json.loads(lock_path(root).read_text() or "{}")
    except (OSError, ValueError):
        data = {}
    pid = data.get("pid")
    return Holder(
        pid=pid if isinstance(pid, int) else None,
        host=str(data.get("host", "")),
        started_at=str(data.get("started_at", "")),
        what=str(data.get("what", "")),
    )


@contextlib.contextmanager
def hold(
    root: Path,
    what: str,
    *,
    wait: bool = False,
    on_wait: Callable[[Holder], None] | None = None,
    advice: str = "",
) -> Iterator[None]:
    """Hold the lock of data directory ``root`` for the ``with`` block.

    Busy, it raises ``DataDirBusy`` (naming the holder, then ``advice``), or with ``wait`` calls
    ``on_wait(holder)`` once and blocks until the holder is gone."""
    root = Path(root).resolve()
    with _guard:
        if _holds(root):
            fd, depth = _held[root]
            _held[root] = (fd, depth + 1)
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with _guard:
                fd, depth = _held[root]
                _held[root] = (fd, depth - 1)
        return

    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(root), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(root)
            if not wait:
                raise DataDirBusy(root, holder, advice) from None
            if on_wait is not None:
                on_wait(holder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "what": what,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
        with _guard:
            _held[root] = (fd, 1)
        try:
            yield
        finally:
            with _guard:
                _held.pop(root, None)
            os.ftruncate(fd, 0)  # the name of a holder that is gone would only mislead
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


def step_lock(root: Path, step: str) -> contextlib.AbstractContextManager[None]:
    """The lock for one Dagster step in the writer pool: it fails at once when another process
    holds the data directory (waiting would keep the pool slot that process may need next, a
    deadlock with ``llm-margin materialize``, whose in-process steps take the same slots)."""
    return hold(
        root,
        f"Dagster step {step}",
        advice="This step did not run; the next run (schedule, sensor or a re-execution) "
        "does it once the other process is done.",
    )


def writer_step(fn):
    """Decorate the function of a Dagster asset, check or op in the ``warehouse_writer`` pool
    (under its ``@asset``): the step holds the data directory's lock while it runs, and fails
    with ``DataDirBusy`` when another process holds it. The data directory is the ``settings``
    resource's when the function takes it, else ``$LLM_MARGIN_DATA_DIR``."""
    name = fn.__name__

    def root(kwargs) -> Path:
        from orchestration.paths import data_paths

        settings = kwargs.get("settings")
        return settings.paths().root if settings is not None else data_paths().root

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def steps(*args, **kwargs):
            with step_lock(root(kwargs), name):
                yield from fn(*args, **kwargs)

        return steps

    @functools.wraps(fn)
    def step(*args, **kwargs):
        with step_lock(root(kwargs), name):
            return fn(*args, **kwargs)

    return step
