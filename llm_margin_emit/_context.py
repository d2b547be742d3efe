"""Attribution (who a call is for) and attempts (one provider call each, chained within a task).

The current task lives in a ``contextvars.ContextVar``: asyncio tasks inherit it, and so do threads
started with ``contextvars.copy_context().run`` (``asyncio.to_thread`` and
``loop.run_in_executor`` do; a bare ``ThreadPoolExecutor.submit`` does not).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from contextvars import ContextVar
from typing import Any

from llm_margin_emit._parse import FAILED, OUTCOMES, usage_fields
from llm_margin_emit._writer import Emitter, Entry, iso_us, now_us

log = logging.getLogger("llm_margin_emit")

VERSION = "0.1.0"
TAGS = ("customer_id", "workspace_id", "feature", "user_id")
REQUIRED_TAGS = ("customer_id", "workspace_id", "feature")

_task: ContextVar[Task | None] = ContextVar("llm_margin_emit_task", default=None)
_route: ContextVar[str | None] = ContextVar("llm_margin_emit_route", default=None)
# Set while an instrumented SDK method runs: the httpx transport, when it sees the same call,
# records the HTTP attempts itself and the SDK wrapper then records nothing (no double count).
_sdk_call: ContextVar[SdkCall | None] = ContextVar("llm_margin_emit_sdk_call", default=None)
_warned: set[str] = set()


def _warn_once(key: str, message: str, *args: Any) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning(message, *args)


class SdkCall:
    __slots__ = ("transport_seen",)

    def __init__(self) -> None:
        self.transport_seen = False


class Task:
    """One customer task: its tags and the attempts made for it so far."""

    def __init__(
        self,
        customer_id: str | None = None,
        workspace_id: str | None = None,
        feature: str | None = None,
        user_id: str | None = None,
        task_id: str | None = None,
        route: str | None = None,
        extra: dict[str, Any] | None = None,
    ):
        self.customer_id = customer_id
        self.workspace_id = workspace_id
        self.feature = feature
        self.user_id = user_id
        self.task_id = str(task_id) if task_id else str(uuid.uuid4())
        self.route = route
        self.extra = dict(extra or {})
        self._lock = threading.Lock()
        self._attempts = 0
        self._latest: Attempt | None = None  # most recently started
        self._last_finished: Attempt | None = None

    @property
    def attempts(self) -> int:
        return self._attempts

    def set_outcome(self, outcome: str) -> bool:
        """Record the task's business outcome on its last attempt: an attempt still streaming
        gets it in its final record; a finished one is written again (same ``event_id``, later
        ``emitted_at``, which the warehouse keeps). False when there is no attempt yet or the
        outcome is not one of accepted/rejected/failed/abandoned."""
        try:
            if outcome not in OUTCOMES:
                log.warning("llm_margin_emit: outcome %r is not one of %s", outcome, OUTCOMES)
                return False
            with self._lock:
                latest = self._latest
                if latest is not None and latest.status is None:
                    latest.pending_outcome = outcome
                    return True
                target = self._last_finished
                if target is None or target.final_entry is None:
                    return False
                target.pending_outcome = outcome
                original = target.final_entry
                emitted = max(now_us(), target.emitted_us + 1)
                target.emitted_us = emitted

            def resend() -> dict[str, Any] | None:
                record = original.record()
                if record is None:
                    return None
                return {**record, "outcome": outcome, "emitted_at": iso_us(emitted)}

            target.emitter.submit(Entry(resend))
            return True
        except Exception:
            log.exception("llm_margin_emit: set_outcome failed")
            return False


class attribution:  # noqa: N801 - used like a function: `with attribution(...):`
    """Attribute every provider call inside the block to one customer task.

    Tags not given are inherited from an enclosing block; ``task_id`` is not (a nested block is
    a new task) and is a new UUID4 when not given. ``extra`` fields are written on every record
    (the warehouse keeps them in ``attributes``). Works as ``with`` and ``async with``; yields
    the ``Task``."""

    def __init__(
        self,
        customer_id: str | None = None,
        workspace_id: str | None = None,
        feature: str | None = None,
        user_id: str | None = None,
        task_id: str | None = None,
        *,
        route: str | None = None,
        extra: dict[str, Any] | None = None,
    ):
        outer = _task.get()
        given = {
            "customer_id": customer_id,
            "workspace_id": workspace_id,
            "feature": feature,
            "user_id": user_id,
        }
        if outer is not None:
            for tag in TAGS:
                if given[tag] is None:
                    given[tag] = getattr(outer, tag)
            route = route if route is not None else outer.route
            extra = {**outer.extra, **(extra or {})}
        self.task = Task(**given, task_id=task_id, route=route, extra=extra)
        self._token = None

    def __enter__(self) -> Task:
        self._token = _task.set(self.task)
        return self.task

    def __exit__(self, *exc: object) -> None:
        try:
            _task.reset(self._token)
        except ValueError:  # exited in another context than entered
            _task.set(None)

    async def __aenter__(self) -> Task:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__(*exc)


class route:  # noqa: N801
    """``with route("primary"):`` names the route of the calls inside (overrides the task's)."""

    def __init__(self, name: str | None):
        self.name = name
        self._token = None

    def __enter__(self) -> str | None:
        self._token = _route.set(self.name)
        return self.name

    def __exit__(self, *exc: object) -> None:
        try:
            _route.reset(self._token)
        except ValueError:
            _route.set(None)


def current_task() -> Task | None:
    return _task.get()


def set_outcome(outcome: str) -> bool:
    """``Task.set_outcome`` on the current task; False outside an ``attribution`` block."""
    task = _task.get()
    if task is None:
        _warn_once("outcome", "llm_margin_emit: set_outcome outside an attribution block; ignored")
        return False
    return task.set_outcome(outcome)


def _missing_usage(_: str, __: Any) -> dict[str, Any]:
    return {
        "response_model": None,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "usage_missing": True,
    }


class Attempt:
    """One provider call attempt, from request to final record. Created in the app's thread;
    ``finish`` hands a builder to the writer, which parses the response there."""

    def __init__(
        self,
        emitter: Emitter,
        *,
        api: str,
        provider: str,
        request_model: str | None,
        route_hint: str | None = None,
        started_us: int | None = None,
        started_ns: int | None = None,
    ):
        self.emitter = emitter
        self.api = api
        self.provider = provider
        self.request_model = request_model
        self.started_us = started_us or now_us()
        self._started_ns = started_ns or time.perf_counter_ns()
        self.event_id = str(uuid.uuid4())
        self.status: str | None = None
        self.claimed = False
        self.pending_outcome: str | None = None
        self.final_entry: Entry | None = None
        self.emitted_us = self.started_us

        task = _task.get()
        if task is None:  # outside any attribution block: a task of its own
            task = Task(**{k: v for k, v in emitter.default_tags.items() if k in TAGS})
            if not all(getattr(task, tag) for tag in REQUIRED_TAGS):
                _warn_once(
                    "untagged",
                    "llm_margin_emit: a call outside `attribution(...)` without default_tags; "
                    "its record lacks customer_id/workspace_id/feature and the warehouse will "
                    "quarantine it (missing_task_tag)",
                )
        self.task = task
        derived = f"{provider}/{request_model}" if emitter.derive_route and request_model else None
        self.route = _route.get() or task.route or route_hint or derived

        parent = fallback_from = None
        with task._lock:
            task._attempts += 1
            number = task._attempts
            previous = task._last_finished
            if previous is not None and previous.status in FAILED and not previous.claimed:
                previous.claimed = True
                parent = previous.event_id
                same = (previous.provider, previous.request_model, previous.route) == (
                    provider,
                    request_model,
                    self.route,
                )
                if not same:
                    fallback_from = previous.route
            task._latest = self

        self.base: dict[str, Any] = {
            **task.extra,
            "event_id": self.event_id,
            "occurred_at": iso_us(self.started_us),
            "customer_id": task.customer_id,
            "workspace_id": task.workspace_id,
            "feature": task.feature,
            "user_id": task.user_id,
            "task_id": task.task_id,
            "attempt": number,
            "parent_event_id": parent,
            "provider": provider,
            "model": request_model or "unknown",
            "route": self.route,
            "fallback_from_route": fallback_from,
            "emitter": f"llm_margin_emit {VERSION}",
        }

    def stream_started(self) -> None:
        """The start record of a stream: status in_progress, no tokens, emitted_at = occurred_at."""
        try:
            record = {
                **self.base,
                "emitted_at": self.base["occurred_at"],
                "status": "in_progress",
                "stream": True,
            }
            self.emitter.submit(Entry(record))
        except Exception:
            log.exception("llm_margin_emit: could not write a stream start record")

    def finish(
        self,
        status: str,
        *,
        docs: Any = None,
        http_status: int | None = None,
        error_type: str | None = None,
        stream: bool = False,
    ) -> None:
        """The final record. ``docs``: a callable returning the response body / stream chunks as
        dicts or SDK objects, called in the writer thread; None when there is nothing to read."""
        try:
            latency_ms = max(0, (time.perf_counter_ns() - self._started_ns) // 1_000_000)
            emitted = max(now_us(), self.started_us + 1)
            base, api, request_model = self.base, self.api, self.request_model
            outcome = None

            def build() -> dict[str, Any]:
                fields = _missing_usage(api, None)
                if docs is not None:
                    try:
                        fields = usage_fields(api, docs())
                    except Exception as exc:
                        fields = {**fields, "usage_unparsed": type(exc).__name__}
                record = dict(base)
                response_model = fields.pop("response_model", None)
                if response_model:
                    record["model"] = response_model
                    if request_model and response_model != request_model:
                        record["requested_model"] = request_model
                if error_type and "error_type" not in fields:
                    record["error_type"] = error_type
                record.update(fields)
                record.update(
                    emitted_at=iso_us(emitted),
                    latency_ms=latency_ms,
                    status=status,
                    outcome=outcome,
                    http_status=http_status,
                    stream=stream or None,
                )
                return record

            with self.task._lock:
                if self.status is not None:
                    return  # already finished
                self.status = status
                self.emitted_us = emitted
                self.task._last_finished = self
                outcome = self.pending_outcome
                entry = self.final_entry = Entry(build)
            self.emitter.submit(entry)
        except Exception:
            log.exception("llm_margin_emit: could not write an attempt's final record")
