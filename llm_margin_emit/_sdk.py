"""Wrappers for the OpenAI and Anthropic Python SDKs, by duck typing (neither is imported).

``instrument_openai(client)`` replaces ``client.chat.completions.create`` and
``instrument_anthropic(client)`` replaces ``client.messages.create`` on that client object, sync
or async, streaming or not. One record per *SDK call*: the SDK's internal retries are invisible
here (use ``EmitTransport`` for one record per HTTP attempt). When the client's httpx transport
is an ``EmitTransport`` too, the transport's records are kept and the wrapper writes nothing.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from llm_margin_emit._context import Attempt, SdkCall, _sdk_call
from llm_margin_emit._parse import (
    ANTHROPIC,
    MAX_KEPT_EVENTS,
    OPENAI,
    provider_for_host,
    status_for_exception,
)
from llm_margin_emit._writer import Emitter, get_emitter, now_us

log = logging.getLogger("llm_margin_emit")
_MARK = "__llm_margin_emit__"
_KEEP_TYPES = ("message_start", "message_delta", "error")


def _host(client: Any) -> str | None:
    base = getattr(client, "base_url", None)
    if base is None:
        return None
    host = getattr(base, "host", None)
    if isinstance(host, str):
        return host
    try:
        return urlsplit(str(base)).hostname
    except ValueError:
        return None


class _Call:
    """One SDK call: becomes an Attempt when it ends, unless the transport recorded it."""

    def __init__(self, emitter: Emitter, api: str, provider: str, model: Any, route: str | None):
        self.emitter, self.api, self.provider, self.route = emitter, api, provider, route
        self.model = model if isinstance(model, str) and model else None
        self.sdk = SdkCall()
        self.started_us, self.started_ns = now_us(), time.perf_counter_ns()

    def _attempt(self) -> Attempt:
        return Attempt(
            self.emitter,
            api=self.api,
            provider=self.provider,
            request_model=self.model,
            route_hint=self.route,
            started_us=self.started_us,
            started_ns=self.started_ns,
        )

    def failed(self, exc: BaseException) -> None:
        try:
            if self.sdk.transport_seen:
                return
            code = getattr(exc, "status_code", None)
            body = getattr(exc, "body", None)
            docs = (lambda: [{"error": body}]) if isinstance(body, dict) else None
            self._attempt().finish(
                status_for_exception(exc),
                docs=docs,
                http_status=code if isinstance(code, int) else None,
                error_type=type(exc).__name__,
            )
        except Exception:
            log.exception("llm_margin_emit: could not record a failed SDK call")

    def succeeded(self, result: Any, streaming: bool, asynchronous: bool) -> Any:
        try:
            if self.sdk.transport_seen:
                return result
            attempt = self._attempt()
            if streaming:
                attempt.stream_started()
                cls = _AsyncStreamProxy if asynchronous else _StreamProxy
                return cls(result, attempt)
            attempt.finish("success", docs=lambda: [result])
        except Exception:
            log.exception("llm_margin_emit: could not record an SDK call")
        return result


def _wrap(
    resource: Any,
    name: str,
    *,
    api: str,
    client: Any,
    provider: str | None,
    route: str | None,
    emitter: Emitter | None,
) -> None:
    original: Callable[..., Any] = getattr(resource, name)
    if getattr(original, _MARK, False):
        return  # already instrumented

    def begin(kwargs: dict[str, Any]) -> _Call | None:
        try:
            em = emitter or get_emitter()
            if not em.enabled:
                return None
            name = provider or provider_for_host(_host(client), api, em.providers)
            return _Call(em, api, name, kwargs.get("model"), route)
        except Exception:
            log.exception("llm_margin_emit: could not start recording an SDK call")
            return None

    async def finish_async(call: _Call, pending: Any, streaming: bool) -> Any:
        token = _sdk_call.set(call.sdk)
        try:
            result = await pending
        except BaseException as exc:
            call.failed(exc)
            raise
        finally:
            _sdk_call.reset(token)
        return call.succeeded(result, streaming, asynchronous=True)

    # One wrapper for both kinds: the SDKs' async ``create`` is itself a plain function that
    # returns a coroutine (their argument-checking decorator), so the result decides.
    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = begin(kwargs)
        if call is None:
            return original(*args, **kwargs)
        streaming = bool(kwargs.get("stream"))
        token = _sdk_call.set(call.sdk)
        try:
            result = original(*args, **kwargs)
        except BaseException as exc:
            call.failed(exc)
            raise
        finally:
            _sdk_call.reset(token)
        if inspect.isawaitable(result):
            return finish_async(call, result, streaming)
        return call.succeeded(result, streaming, asynchronous=False)

    setattr(wrapper, _MARK, True)
    setattr(resource, name, wrapper)


def instrument_openai(
    client: Any,
    *,
    provider: str | None = None,
    route: str | None = None,
    emitter: Emitter | None = None,
) -> Any:
    """Record ``client.chat.completions.create`` calls (``OpenAI``, ``AsyncOpenAI`` or any
    object shaped like them). Streams need ``stream_options={"include_usage": True}`` for
    token counts. Returns the client."""
    _wrap(
        client.chat.completions,
        "create",
        api=OPENAI,
        client=client,
        provider=provider,
        route=route,
        emitter=emitter,
    )
    return client


def instrument_anthropic(
    client: Any,
    *,
    provider: str | None = None,
    route: str | None = None,
    emitter: Emitter | None = None,
) -> Any:
    """Record ``client.messages.create`` calls (``Anthropic``, ``AsyncAnthropic`` or any object
    shaped like them), streaming or not. Returns the client."""
    _wrap(
        client.messages,
        "create",
        api=ANTHROPIC,
        client=client,
        provider=provider,
        route=route,
        emitter=emitter,
    )
    return client


class _StreamObserver:
    """Keeps the chunks/events of an SDK stream that carry the model, usage or an error."""

    def __init__(self, stream: Any, attempt: Attempt):
        self._stream = stream
        self._attempt = attempt
        self._kept: list[Any] = []
        self._error = False
        self._ended = False

    def _observe(self, item: Any) -> None:
        try:
            if isinstance(item, dict):
                kind, usage = item.get("type"), item.get("usage")
            else:
                kind, usage = getattr(item, "type", None), getattr(item, "usage", None)
            if kind == "error":
                self._error = True
            if not self._kept or usage is not None or kind in _KEEP_TYPES:
                if len(self._kept) < MAX_KEPT_EVENTS:
                    self._kept.append(item)
                else:
                    self._kept[-1] = item
        except Exception:
            log.debug("llm_margin_emit: could not observe a stream item", exc_info=True)

    def _end(self, *, completed: bool, exc: BaseException | None = None) -> None:
        if self._ended:
            return
        self._ended = True
        if exc is not None:
            status = status_for_exception(exc)
        elif self._error:
            status = "error"
        else:
            status = "success" if completed else "cancelled"
        kept = self._kept
        self._attempt.finish(
            status,
            docs=lambda: kept,
            error_type=type(exc).__name__ if exc is not None else None,
            stream=True,
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._stream, name)


class _StreamProxy(_StreamObserver):
    """Iterates the SDK's ``Stream`` for the app; everything else is the original's."""

    _iterator: Any = None

    def __iter__(self) -> _StreamProxy:
        return self

    def __next__(self) -> Any:
        try:
            if self._iterator is None:
                self._iterator = iter(self._stream)
            item = next(self._iterator)
        except StopIteration:
            self._end(completed=True)
            raise
        except BaseException as exc:
            self._end(completed=False, exc=exc)
            raise
        self._observe(item)
        return item

    def close(self) -> None:
        try:
            closer = getattr(self._stream, "close", None)
            if callable(closer):
                closer()
        finally:
            self._end(completed=False)

    def __enter__(self) -> _StreamProxy:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _AsyncStreamProxy(_StreamObserver):
    """Iterates the SDK's ``AsyncStream`` for the app; everything else is the original's."""

    _iterator: Any = None

    def __aiter__(self) -> _AsyncStreamProxy:
        return self

    async def __anext__(self) -> Any:
        try:
            if self._iterator is None:
                self._iterator = self._stream.__aiter__()
            item = await self._iterator.__anext__()
        except StopAsyncIteration:
            self._end(completed=True)
            raise
        except BaseException as exc:
            self._end(completed=False, exc=exc)
            raise
        self._observe(item)
        return item

    async def close(self) -> None:
        try:
            closer = getattr(self._stream, "close", None) or getattr(self._stream, "aclose", None)
            if callable(closer):
                result = closer()
                if inspect.isawaitable(result):
                    await result
        finally:
            self._end(completed=False)

    aclose = close

    async def __aenter__(self) -> _AsyncStreamProxy:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
