"""The writer: a bounded queue drained by one daemon thread into rotating JSON Lines files.

The application's threads only ever call ``Emitter.submit``, which never blocks and never raises:
a full queue drops the record and counts it. The writer thread builds each record (parsing the
response bodies the instrumentation handed over), serialises it and appends it to
``<directory>/<UTC date>/events-<host>-<pid>-<random>-<UTC time>-<seq>.jsonl.part``. The file is
closed and renamed to ``.jsonl`` with ``os.replace`` when it reaches ``max_file_bytes`` or
``max_file_age_s``, on ``flush()``, on ``close()`` and at interpreter exit: the project's loader
ignores ``*.part`` files, so it never reads a file still being written.
"""

from __future__ import annotations

import atexit
import errno
import json
import logging
import os
import queue
import re
import secrets
import socket
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("llm_margin_emit")

DIR_ENV = "LLM_MARGIN_EMIT_DIR"
DATA_DIR_ENV = "LLM_MARGIN_DATA_DIR"
DISABLED_ENV = "LLM_MARGIN_EMIT_DISABLED"
LANDING_SUBDIR = Path("landing") / "usage_events" / "emitter"
MiB = 1024 * 1024


def default_directory() -> Path:
    """``$LLM_MARGIN_EMIT_DIR``, else ``$LLM_MARGIN_DATA_DIR/landing/usage_events/emitter``, else
    ``./data/landing/usage_events/emitter`` (the project's default data directory, relative to the
    working directory)."""
    explicit = os.environ.get(DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    data = os.environ.get(DATA_DIR_ENV)
    if data:
        return Path(data).expanduser() / LANDING_SUBDIR
    return Path("data") / LANDING_SUBDIR


def open_file(path: Path):
    """Open a new file for appending, unbuffered (each batch is one write; a failed write is
    known to be that batch's). Module-level so that tests can simulate a full disk."""
    return open(path, "xb", buffering=0)  # noqa: SIM115 - closed by the writer


def iso_us(us: int) -> str:
    """Microseconds since the epoch as ISO-8601 UTC with a Z."""
    return datetime.fromtimestamp(us // 1_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{us % 1_000_000:06d}Z"
    )


def now_us() -> int:
    return time.time_ns() // 1000


class Entry:
    """One record to write. ``build`` runs in the writer thread and is computed once: a later
    entry (an outcome re-sent) can read the record an earlier one built."""

    __slots__ = ("_build", "_record", "_done")

    def __init__(self, build: Callable[[], dict[str, Any] | None] | dict[str, Any]):
        self._build = build
        self._record: dict[str, Any] | None = None
        self._done = False

    def record(self) -> dict[str, Any] | None:
        if not self._done:
            self._done = True
            built = self._build() if callable(self._build) else self._build
            self._record = {k: v for k, v in built.items() if v is not None} if built else None
            self._build = None  # type: ignore[assignment]  # free the response bytes
        return self._record


class _Flush:
    __slots__ = ("event",)

    def __init__(self) -> None:
        self.event = threading.Event()


class _Stop(_Flush):
    pass


_SAFE = re.compile(r"[^A-Za-z0-9.-]+")
_LIVE: weakref.WeakSet[Emitter] = weakref.WeakSet()


class Emitter:
    """Where and how records are written. Usually one per process: ``configure(...)``."""

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        max_file_bytes: int = 16 * MiB,
        max_file_age_s: float = 60.0,
        queue_size: int = 10_000,
        providers: Mapping[str, str] | None = None,
        default_tags: Mapping[str, str] | None = None,
        derive_route: bool = True,
        enabled: bool | None = None,
        drop_warning_every: int = 1000,
    ):
        if directory is None and not os.environ.get(DIR_ENV) and not os.environ.get(DATA_DIR_ENV):
            log.warning(
                "llm_margin_emit: neither %s nor %s is set; writing under %s",
                DIR_ENV,
                DATA_DIR_ENV,
                Path.cwd() / "data" / LANDING_SUBDIR,
            )
        self.directory = Path(directory) if directory is not None else default_directory()
        self.max_file_bytes = int(max_file_bytes)
        self.max_file_age_s = float(max_file_age_s)
        self.queue_size = int(queue_size)
        self.providers = dict(providers or {})
        self.default_tags = dict(default_tags or {})
        self.derive_route = derive_route
        if enabled is None:
            enabled = os.environ.get(DISABLED_ENV, "").lower() not in ("1", "true", "yes")
        self.enabled = enabled
        self.drop_warning_every = max(1, int(drop_warning_every))
        self._counts = {
            "enqueued": 0,
            "written": 0,
            "files_landed": 0,
            "dropped_queue_full": 0,
            "dropped_unserialisable": 0,
            "dropped_write_error": 0,
            "dropped_closed": 0,
            "dropped_internal_error": 0,
        }
        self._closed = False
        self._warned: set[str] = set()
        self._reset_process_state()
        _LIVE.add(self)

    # -- the application side: never blocks, never raises ----------------------------------------

    def submit(self, entry: Entry) -> None:
        try:
            if not self.enabled:
                return
            if self._closed:
                self._count("dropped_closed")
                return
            if self._thread is None or not self._thread.is_alive():
                self._start()
            self._queue.put_nowait(entry)
            self._count("enqueued")
        except queue.Full:
            n = self._count("dropped_queue_full")
            if n == 1 or n % self.drop_warning_every == 0:
                log.warning(
                    "llm_margin_emit: queue full (%d records), dropped %d record(s) so far",
                    self.queue_size,
                    n,
                )
        except Exception:
            self._count("dropped_internal_error")
            log.exception("llm_margin_emit: could not queue a record; dropped")

    def stats(self) -> dict[str, int]:
        """Counters since this emitter was created. ``written``: records written to a file (a
        landed ``.jsonl`` or the current ``.part``); ``dropped``: the sum of the ``dropped_*``."""
        with self._lock:
            out = dict(self._counts)
        out["dropped"] = sum(v for k, v in out.items() if k.startswith("dropped_"))
        out["queue_depth"] = self._queue.qsize()
        return out

    def flush(self, timeout: float = 5.0) -> bool:
        """Write everything queued so far and land the current file as ``.jsonl``. Waits at most
        ``timeout`` seconds; returns whether it finished."""
        return self._control(_Flush(), timeout)

    def close(self, timeout: float = 5.0) -> bool:
        """Flush, then stop the writer thread. Records submitted afterwards are dropped and
        counted (``dropped_closed``). Also runs at interpreter exit."""
        if self._closed:
            return True
        self._closed = True
        try:
            atexit.unregister(self.close)
        except Exception:  # pragma: no cover
            pass
        thread = self._thread
        done = self._control(_Stop(), timeout)
        if thread is not None:
            thread.join(timeout)
        return done

    # -- internals ---------------------------------------------------------------------------------

    def _count(self, key: str, n: int = 1) -> int:
        with self._lock:
            self._counts[key] += n
            return self._counts[key]

    def _warn_once(self, key: str, message: str, *args: Any) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message, *args)

    def _reset_process_state(self) -> None:
        """(Also after fork: the child gets its own lock, queue, thread and files.)"""
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue(maxsize=self.queue_size)
        self._thread: threading.Thread | None = None
        self._file = None
        self._part: Path | None = None
        self._file_opened = 0.0
        self._file_bytes = 0
        self._file_records = 0
        self._seq = 0
        self._unlanded: list[Path] = []
        host = _SAFE.sub("-", socket.gethostname())[:40].strip("-.") or "host"
        self._prefix = f"events-{host}-{os.getpid()}-{secrets.token_hex(3)}"

    def _start(self) -> None:
        with self._lock:
            if self._closed or (self._thread is not None and self._thread.is_alive()):
                return
            self._thread = threading.Thread(
                target=self._run, name="llm_margin_emit-writer", daemon=True
            )
            self._thread.start()
        atexit.register(self.close)

    def _control(self, marker: _Flush, timeout: float) -> bool:
        try:
            if self._thread is None or not self._thread.is_alive():
                return True  # nothing was ever queued, or the writer is gone
            self._queue.put(marker, timeout=timeout)
            return marker.event.wait(timeout)
        except queue.Full:
            log.warning("llm_margin_emit: flush timed out: the queue stayed full")
            return False
        except Exception:
            log.exception("llm_margin_emit: flush failed")
            return False

    def _run(self) -> None:
        while True:
            try:
                if self._file is None:
                    wait = None
                else:
                    age = time.monotonic() - self._file_opened
                    wait = max(0.0, self.max_file_age_s - age)
                try:
                    items = [self._queue.get(timeout=wait)]
                except queue.Empty:
                    items = []
                while len(items) < 1000:
                    try:
                        items.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                lines: list[bytes] = []
                for item in items:
                    if isinstance(item, _Flush):
                        self._write(lines)
                        lines = []
                        self._land()
                        item.event.set()
                        if isinstance(item, _Stop):
                            return
                    else:
                        line = self._serialise(item)
                        if line is not None:
                            lines.append(line)
                self._write(lines)
                if self._file is not None and (
                    self._file_bytes >= self.max_file_bytes
                    or time.monotonic() - self._file_opened >= self.max_file_age_s
                ):
                    self._land()
            except Exception:  # keep the writer alive whatever happens
                log.exception("llm_margin_emit: writer error")
                time.sleep(0.1)

    def _serialise(self, entry: Entry) -> bytes | None:
        try:
            record = entry.record()
            if record is None:
                return None
            text = json.dumps(record, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
            return text.encode("utf-8") + b"\n"
        except Exception as exc:
            n = self._count("dropped_unserialisable")
            if n == 1 or n % self.drop_warning_every == 0:
                log.warning(
                    "llm_margin_emit: a record could not be serialised (%s: %s); dropped %d so far",
                    type(exc).__name__,
                    exc,
                    n,
                )
            return None

    def _open(self) -> None:
        now = now_us()
        day = datetime.fromtimestamp(now // 1_000_000, UTC)
        folder = self.directory / day.strftime("%Y-%m-%d")
        folder.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        stamp = day.strftime("%Y%m%dT%H%M%SZ")
        part = folder / f"{self._prefix}-{stamp}-{self._seq:06d}.jsonl.part"
        self._file = open_file(part)
        self._part = part
        self._file_opened = time.monotonic()
        self._file_bytes = 0
        self._file_records = 0

    def _write(self, lines: list[bytes]) -> None:
        if not lines:
            return
        data = b"".join(lines)
        try:
            if self._file is None:
                self._open()
            view = memoryview(data)
            while view:
                n = self._file.write(view)
                if not n:
                    raise OSError(errno.EIO, "short write")
                view = view[n:]
        except Exception as exc:
            n = self._count("dropped_write_error", len(lines))
            log.warning(
                "llm_margin_emit: could not write %d record(s) to %s (%s); dropped %d so far",
                len(lines),
                self._part or self.directory,
                exc,
                n,
            )
            self._after_write_error()
            return
        self._file_bytes += len(data)
        self._file_records += len(lines)
        self._count("written", len(lines))

    def _after_write_error(self) -> None:
        """The file may end in part of a line: cut it back to its last whole record and land
        that; if it cannot be cut, leave it as ``.part`` (never loaded) and count it as dropped."""
        file, part = self._file, self._part
        self._file, self._part = None, None
        if file is None or part is None:
            return
        try:
            file.truncate(self._file_bytes)
            clean = True
        except Exception:
            clean = False
        try:
            file.close()
        except Exception:
            pass
        if clean:
            self._rename(part)
        else:
            self._count("written", -self._file_records)
            self._count("dropped_write_error", self._file_records)
            log.error("llm_margin_emit: left %s unlanded (could not truncate it)", part)

    def _land(self) -> None:
        """Close the current file and rename it to ``.jsonl`` (also retries earlier renames)."""
        for part in self._unlanded[:]:
            self._unlanded.remove(part)
            self._rename(part)
        file, part = self._file, self._part
        if file is None or part is None:
            return
        self._file, self._part = None, None
        try:
            try:
                os.fsync(file.fileno())
            except OSError:
                pass
            file.close()
        except Exception:
            log.exception("llm_margin_emit: could not close %s", part)
        self._rename(part)

    def _rename(self, part: Path) -> None:
        try:
            if part.stat().st_size == 0:
                part.unlink()
                return
            os.replace(part, part.with_suffix(""))  # name.jsonl.part -> name.jsonl
            self._count("files_landed")
        except FileNotFoundError:
            pass
        except Exception as exc:
            self._unlanded.append(part)
            log.warning("llm_margin_emit: could not land %s (%s); will retry", part, exc)


def _after_fork_in_child() -> None:
    for emitter in list(_LIVE):
        try:
            emitter._reset_process_state()
        except Exception:  # pragma: no cover
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# -- the process-wide emitter ----------------------------------------------------------------------

_default: Emitter | None = None
_default_lock = threading.Lock()


def configure(directory: str | os.PathLike[str] | None = None, **options: Any) -> Emitter:
    """Create the process-wide emitter (closing the previous one). Options: see ``Emitter``."""
    global _default
    with _default_lock:
        previous, _default = _default, Emitter(directory, **options)
    if previous is not None:
        previous.close()
    return _default


def get_emitter() -> Emitter:
    """The process-wide emitter, created from the environment on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Emitter()
    return _default


def flush(timeout: float = 5.0) -> bool:
    return get_emitter().flush(timeout)


def close(timeout: float = 5.0) -> bool:
    return get_emitter().close(timeout)


def stats() -> dict[str, int]:
    return get_emitter().stats()
