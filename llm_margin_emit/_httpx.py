"""The transport-level hook: an httpx transport that records every LLM call passing through it.

``EmitTransport`` / ``AsyncEmitTransport`` wrap the transport an ``httpx.Client`` /
``httpx.AsyncClient`` would use, so any SDK built on httpx is covered, one record per HTTP
attempt (the SDK's own retries included). A transport, unlike ``event_hooks``, also sees the calls
that fail before a response exists (timeouts, refused connections).

Nothing here imports httpx at module import: the response's own module supplies the byte-stream
base classes, so the same code serves ``httpx`` and API-compatible forks such as ``httpx2``.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
from typing import Any

from llm_margin_emit._context import Attempt, _sdk_call
from llm_margin_emit._parse import (
    MAX_BODY_BYTES,
    SSEScanner,
    api_for_path,
    decode_body,
    provider_for_host,
    sniff_request,
    status_for_exception,
    status_for_http,
)
from llm_margin_emit._writer import Emitter, get_emitter, now_us

log = logging.getLogger("llm_margin_emit")


def _json_docs(chunks: list[bytes], encoding: str | None):
    import json

    def docs() -> list[Any]:
        return [json.loads(decode_body(b"".join(chunks), encoding))]

    return docs


def _sse_docs(kept: list[bytes]):
    import json

    def docs() -> list[Any]:
        out = []
        for data in kept:
            try:
                out.append(json.loads(data))
            except ValueError:
                continue
        return out

    return docs


class _Tap:
    """What the app's reads of the body feed: a copy of a JSON body (up to MAX_BODY_BYTES) or
    the SSE scanner. Ends the attempt once: at the end of the body, on close, or on an error."""

    def __init__(self, attempt: Attempt, status_code: int, encoding: str | None, sse: bool):
        self.attempt = attempt
        self.status_code = status_code
        self.encoding = encoding
        self.scanner = SSEScanner(attempt.api, encoding) if sse else None
        self.chunks: list[bytes] = []
        self.size = 0
        self.broken = False
        self.ended = False

    def feed(self, chunk: bytes) -> None:
        if self.broken:
            return
        try:
            if self.scanner is not None:
                self.scanner.feed(chunk)
            else:
                self.size += len(chunk)
                if self.size > MAX_BODY_BYTES:
                    self.broken, self.chunks = True, []
                else:
                    self.chunks.append(bytes(chunk))
        except Exception:
            self.broken = True
            log.debug("llm_margin_emit: stopped reading a response body", exc_info=True)

    def end(self, *, completed: bool, exc: BaseException | None = None) -> None:
        if self.ended:
            return
        self.ended = True
        try:
            scanner = self.scanner
            if exc is not None:
                status = status_for_exception(exc)
            elif scanner is not None:
                status = "error" if scanner.error else "success" if completed else "cancelled"
            else:
                status = status_for_http(self.status_code)
            if self.broken or (scanner is not None and scanner.undecodable):
                docs = None
            elif scanner is not None:
                docs = _sse_docs(scanner.kept)
            else:
                docs = _json_docs(self.chunks, self.encoding) if self.chunks else None
            self.attempt.finish(
                status,
                docs=docs,
                http_status=self.status_code,
                error_type=type(exc).__name__ if exc is not None else None,
                stream=scanner is not None,
            )
        except Exception:
            log.exception("llm_margin_emit: could not end an attempt")


_stream_classes: dict[str, tuple[type, type]] = {}


def _classes_for(response: Any) -> tuple[type, type]:
    """Byte-stream wrappers subclassing the ``SyncByteStream`` / ``AsyncByteStream`` of the
    library that built ``response`` (httpx checks the stream's type)."""
    root = type(response).__module__.split(".")[0]
    if root in _stream_classes:
        return _stream_classes[root]
    mod = sys.modules.get(root) or importlib.import_module(root)

    class TapStream(mod.SyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, inner: Any, tap: _Tap):
            self._inner, self._tap = inner, tap

        def __iter__(self):
            try:
                for chunk in self._inner:
                    self._tap.feed(chunk)
                    yield chunk
            except BaseException as exc:
                self._tap.end(completed=False, exc=exc)
                raise
            self._tap.end(completed=True)

        def close(self) -> None:
            try:
                self._inner.close()
            finally:
                self._tap.end(completed=False)

    class AsyncTapStream(mod.AsyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, inner: Any, tap: _Tap):
            self._inner, self._tap = inner, tap

        async def __aiter__(self):
            try:
                async for chunk in self._inner:
                    self._tap.feed(chunk)
                    yield chunk
            except BaseException as exc:
                self._tap.end(completed=False, exc=exc)
                raise
            self._tap.end(completed=True)

        async def aclose(self) -> None:
            try:
                await self._inner.aclose()
            finally:
                self._tap.end(completed=False)

    _stream_classes[root] = (TapStream, AsyncTapStream)
    return _stream_classes[root]


def _library_of(request: Any) -> Any:
    """The httpx (or httpx2) module that built ``request``."""
    root = type(request).__module__.split(".")[0]
    return sys.modules.get(root) or importlib.import_module(root)


class _Base:
    def __init__(
        self,
        transport: Any = None,
        *,
        provider: str | None = None,
        route: str | None = None,
        emitter: Emitter | None = None,
    ):
        # Without a transport: the library's default one, made on the first request from the
        # library that built it (httpx and httpx2 objects do not mix).
        self._inner = transport
        self._inner_lock = threading.Lock()
        self.provider = provider
        self.route = route
        self._emitter = emitter

    def _default_transport(self, library: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _transport(self, request: Any) -> Any:
        if self._inner is None:
            with self._inner_lock:
                if self._inner is None:
                    self._inner = self._default_transport(_library_of(request))
        return self._inner

    def _begin(self, request: Any) -> Attempt | None:
        """An Attempt for an LLM call, None for any other request (or if anything goes wrong)."""
        try:
            api = api_for_path(request.method, request.url.path)
            if api is None:
                return None
            emitter = self._emitter or get_emitter()
            if not emitter.enabled:
                return None
            started_us, started_ns = now_us(), time.perf_counter_ns()
            sdk = _sdk_call.get()
            if sdk is not None:
                sdk.transport_seen = True
            try:
                body = request.content
            except Exception:  # a streamed request body: model unknown
                body = None
            model, _ = sniff_request(body)
            provider = self.provider or provider_for_host(request.url.host, api, emitter.providers)
            return Attempt(
                emitter,
                api=api,
                provider=provider,
                request_model=model,
                route_hint=self.route,
                started_us=started_us,
                started_ns=started_ns,
            )
        except Exception:
            log.exception("llm_margin_emit: could not start recording a call")
            return None

    @staticmethod
    def _fail(attempt: Attempt, exc: BaseException) -> None:
        try:
            attempt.finish(status_for_exception(exc), error_type=type(exc).__name__)
        except Exception:  # pragma: no cover - finish already guards itself
            log.exception("llm_margin_emit: could not record a failed call")

    @staticmethod
    def _tap(attempt: Attempt, response: Any, asynchronous: bool) -> Any:
        """Route the response body through a tap; the app gets the same response object."""
        code = 0
        try:
            code = int(response.status_code)
            headers = response.headers
            sse = 200 <= code < 300 and "text/event-stream" in headers.get("content-type", "")
            tap = _Tap(attempt, code, headers.get("content-encoding"), sse)
            if sse:
                attempt.stream_started()
            if hasattr(response, "_content"):  # already read (e.g. a mock transport)
                tap.encoding = None  # .content is decoded
                if tap.scanner is not None:
                    tap.scanner = SSEScanner(attempt.api, None)
                tap.feed(response.content)
                tap.end(completed=True)
                return response
            sync_cls, async_cls = _classes_for(response)
            cls = async_cls if asynchronous else sync_cls
            response.stream = cls(response.stream, tap)
        except Exception:
            log.exception("llm_margin_emit: could not read a response; recorded without usage")
            attempt.finish(status_for_http(code) if code else "error", http_status=code or None)
        return response


class EmitTransport(_Base):
    """``httpx.Client(transport=EmitTransport())``, or wrap an existing transport:
    ``EmitTransport(httpx.HTTPTransport(retries=2), provider="openai", route="primary")``."""

    def _default_transport(self, library: Any) -> Any:
        return library.HTTPTransport()

    def handle_request(self, request: Any) -> Any:
        inner = self._transport(request)
        attempt = self._begin(request)
        if attempt is None:
            return inner.handle_request(request)
        try:
            response = inner.handle_request(request)
        except BaseException as exc:
            self._fail(attempt, exc)
            raise
        return self._tap(attempt, response, asynchronous=False)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()

    def __enter__(self) -> EmitTransport:
        if self._inner is not None:
            self._inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._inner is not None:
            self._inner.__exit__(*exc)


class AsyncEmitTransport(_Base):
    """``httpx.AsyncClient(transport=AsyncEmitTransport())``; see ``EmitTransport``."""

    def _default_transport(self, library: Any) -> Any:
        return library.AsyncHTTPTransport()

    async def handle_async_request(self, request: Any) -> Any:
        inner = self._transport(request)
        attempt = self._begin(request)
        if attempt is None:
            return await inner.handle_async_request(request)
        try:
            response = await inner.handle_async_request(request)
        except BaseException as exc:
            self._fail(attempt, exc)
            raise
        return self._tap(attempt, response, asynchronous=True)

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()

    async def __aenter__(self) -> AsyncEmitTransport:
        if self._inner is not None:
            await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._inner is not None:
            await self._inner.__aexit__(*exc)
