"""Great Expectations validation in a second process, started before the first check needs it.

Importing GX costs about 4 s of Python, paid by the first GX check of a process; on a new day that
is most of the usage batch's check, which sits between ingestion and dbt (BENCHMARKS.md, "Great
Expectations in a worker process"). A thread cannot hide it: the import holds the GIL, and importing GX beside the
loader slowed a day's load from 2.7 s to 7.0 s. A process can: the same import beside the same
load added 0.1 s to the load and was done 0.6 s after it.

``warm_validation()`` wraps a whole in-process run (``llm-margin materialize``, the bench): it
spawns one worker that imports GX while the run starts and the loaders load, and every GX check
of the run validates its batch there (``validate_batch``: lake file paths in, outcomes out; the
worker reads the files itself, with gx_validation.py, which does not import Dagster). The dbt step stops the worker before it starts, so the worker
never adds to the build's peak memory; a check after that validates in-process. Without
``warm_validation`` (a Dagster UI run, where each step is its own process) nothing is spawned and
checks validate in-process as they always did. Whatever goes wrong in the worker (it died, it
raised), the batch is validated again in-process, so a check fails or passes exactly as it would
have without the worker.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: spawning the worker must not wait for dagster's import
    from orchestration.checks.gx_validation import Validation

log = logging.getLogger(__name__)

_worker: dict = {"enabled": False, "process": None, "pipe": None}


def _serve(pipe) -> None:
    """The worker: import GX, then validate each batch it is sent until told to stop."""
    # Its output would land in the middle of the run's progress display; it has nothing to say
    # that the parent does not get through the pipe (or by validating again in-process).
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    # GX imports PySpark when it is installed (the Spark lane installs it); in a spawned process
    # whose parent's main module is not a file (pytest, `python -c`) that import ended the
    # process, exit code 0, before it could serve. The worker validates pandas frames only: it
    # goes without PySpark, which is also 0.8 s less to import.
    sys.modules["pyspark"] = None  # type: ignore[assignment]
    import great_expectations  # noqa: F401  the import this process exists to pay early

    from orchestration.checks import gx_validation

    while True:
        try:
            request = pipe.recv()
        except EOFError:
            return
        if request is None:
            return
        suite, files_by_part = request
        try:
            pipe.send(("ok", gx_validation.validate_batch(suite, files_by_part)))
        except Exception as error:  # noqa: BLE001  the parent validates again and sees it
            pipe.send(("error", f"{type(error).__name__}: {error}"))


def start() -> None:
    """Spawn the worker, when ``warm_validation`` is open and none is running."""
    if not _worker["enabled"] or _worker["process"] is not None:
        return
    context = multiprocessing.get_context("spawn")  # never fork a process that runs threads
    parent, child = context.Pipe()
    process = context.Process(target=_serve, args=(child,), name="gx-validation", daemon=True)
    process.start()
    child.close()
    _worker.update(process=process, pipe=parent)


def stop() -> None:
    """Stop the worker, if one runs: asked to leave, killed if it is still importing."""
    process, pipe = _worker["process"], _worker["pipe"]
    _worker.update(process=None, pipe=None)
    if process is None:
        return
    try:
        pipe.send(None)
    except (BrokenPipeError, OSError):
        pass
    process.join(timeout=1)
    if process.is_alive():
        process.terminate()
        process.join()
    pipe.close()


def running() -> bool:
    return _worker["process"] is not None and _worker["process"].is_alive()


@contextmanager
def warm_validation() -> Iterator[None]:
    """Validate the GX checks of the run inside this block in a worker spawned now."""
    _worker["enabled"] = True
    try:
        start()
        yield
    finally:
        _worker["enabled"] = False
        stop()


def validate_batch(suite: str, files_by_part: dict[str, list[Path]]) -> Validation:
    """``gx_validation.validate_batch`` in the worker when one runs, else (or when it fails) here."""
    from orchestration.checks import gx_validation

    process, pipe = _worker["process"], _worker["pipe"]
    if process is not None:
        try:
            pipe.send((suite, files_by_part))
            status, value = pipe.recv()
        except (EOFError, BrokenPipeError, OSError) as error:
            status, value = "error", f"the worker is gone ({type(error).__name__})"
            stop()
        if status == "ok":
            return value
        log.warning("GX worker could not validate %s (%s); validating in-process", suite, value)
    return gx_validation.validate_batch(suite, files_by_part)
