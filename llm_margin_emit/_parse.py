"""Pure helpers: provider names, statuses, request sniffing, SSE scanning and usage mapping.

Two kinds of work live here. What runs in the application's thread while a call is in flight is
kept to byte checks (``sniff_request``, ``SSEScanner.feed``); JSON decoding of response bodies and
the mapping of provider usage to contract fields (``usage_fields``) run in the writer thread.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

OPENAI = "openai_chat"  # API shapes: OpenAI-compatible /chat/completions ...
ANTHROPIC = "anthropic_messages"  # ... and Anthropic /v1/messages

# Host (exact, or a suffix after a dot) -> provider name in the contract.
PROVIDER_HOSTS = {
    "api.openai.com": "openai",
    "openai.azure.com": "azure",
    "api.anthropic.com": "anthropic",
    "generativelanguage.googleapis.com": "google",
    "api.deepseek.com": "deepseek",
    "api.mistral.ai": "mistral",
    "api.groq.com": "groq",
    "api.together.xyz": "together",
    "api.fireworks.ai": "fireworks",
    "openrouter.ai": "openrouter",
    "api.x.ai": "xai",
    "api.cohere.com": "cohere",
    "api.perplexity.ai": "perplexity",
    "api.cerebras.ai": "cerebras",
    "api.moonshot.ai": "moonshotai",
}
SHAPE_PROVIDER = {OPENAI: "openai", ANTHROPIC: "anthropic"}

STATUSES = ("success", "error", "timeout", "rate_limited", "invalid_output", "cancelled")
FAILED = frozenset({"error", "timeout", "rate_limited", "invalid_output", "cancelled"})
OUTCOMES = ("accepted", "rejected", "failed", "abandoned")
TIERS = ("standard", "batch", "flex", "priority")
OPENAI_TIERS = {"default": "standard", "auto": "standard", "flex": "flex", "priority": "priority"}

MAX_BODY_BYTES = 8 * 1024 * 1024  # a JSON response larger than this is not parsed for usage
MAX_SSE_LINE_BYTES = 1024 * 1024
MAX_KEPT_EVENTS = 64

_MODEL_RE = re.compile(rb'"model"\s*:\s*"((?:[^"\\]|\\.){1,512})"')
_STREAM_TRUE_RE = re.compile(rb'"stream"\s*:\s*true')
_USAGE_NULL_RE = re.compile(rb'"usage"\s*:\s*null')


def api_for_path(method: str, path: str) -> str | None:
    """Which API shape a request is, from its method and URL path; None when it is not a call."""
    if method.upper() != "POST":
        return None
    path = path.rstrip("/")
    if path.endswith("/chat/completions"):
        return OPENAI
    if path.endswith("/messages"):  # not /messages/count_tokens nor /messages/batches
        return ANTHROPIC
    return None


def provider_for_host(host: str | None, api: str, overrides: Mapping[str, str] | None) -> str:
    """Provider name: the overrides map, then the known public hosts, then the API shape."""
    host = (host or "").lower().rstrip(".")
    for table in (overrides or {}, PROVIDER_HOSTS):
        for known, name in table.items():
            known = known.lower()
            if host == known or host.endswith("." + known):
                return name
    return SHAPE_PROVIDER.get(api, "unknown")


def sniff_request(body: bytes | None) -> tuple[str | None, bool]:
    """The requested model and whether a stream was asked for, found by byte search (no JSON
    decoding of a prompt that may be megabytes long). SDKs serialise the top-level ``model`` key;
    message contents are JSON strings, whose quotes are escaped, so they cannot match."""
    if not body:
        return None, False
    match = _MODEL_RE.search(body)
    model = None
    if match:
        try:
            model = json.loads(b'"' + match.group(1) + b'"') or None
        except ValueError:
            model = None
    return model, bool(_STREAM_TRUE_RE.search(body))


def status_for_http(code: int) -> str:
    if code == 429:
        return "rate_limited"
    if code in (408, 504):
        return "timeout"
    if code >= 400:
        return "error"
    return "success"


def status_for_exception(exc: BaseException) -> str:
    """timeout for any *Timeout* exception (httpx, SDKs, builtins), cancelled for asyncio
    cancellation and interrupts, rate_limited for an SDK error carrying HTTP 429, else error."""
    names = [cls.__name__ for cls in type(exc).__mro__]
    if any(n in ("CancelledError", "KeyboardInterrupt", "GeneratorExit") for n in names):
        return "cancelled"
    if any("Timeout" in n for n in names):
        return "timeout"
    code = getattr(exc, "status_code", None)
    if isinstance(code, int):
        return status_for_http(code) if code >= 400 else "error"
    return "error"


def decoder_for(content_encoding: str | None):
    """A zlib decompressor for gzip/deflate, None for identity; raises ValueError otherwise."""
    enc = (content_encoding or "").strip().lower()
    if enc in ("", "identity"):
        return None
    if enc in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if enc == "deflate":
        return zlib.decompressobj()
    raise ValueError(f"content-encoding {enc!r} is not decoded by the emitter")


def decode_body(raw: bytes, content_encoding: str | None) -> bytes:
    decoder = decoder_for(content_encoding)
    if decoder is None:
        return raw
    return decoder.decompress(raw, MAX_BODY_BYTES) + decoder.flush()


class SSEScanner:
    """Scans a server-sent-event stream as the application reads it, keeping only the few
    ``data:`` payloads that carry the model, usage or an error (as bytes, decoded later)."""

    def __init__(self, api: str, content_encoding: str | None = None):
        self.api = api
        self.kept: list[bytes] = []
        self.error = False
        self.done = False
        self.undecodable = False
        self._buf = b""
        self._event = b""
        self._seen_first = False
        try:
            self._decoder = decoder_for(content_encoding)
        except ValueError:
            self._decoder = None
            self.undecodable = True

    def feed(self, chunk: bytes) -> None:
        if self.undecodable:
            return
        if self._decoder is not None:
            chunk = self._decoder.decompress(chunk)
        buf = self._buf + chunk
        if b"\n" not in buf:
            self._buf = buf if len(buf) <= MAX_SSE_LINE_BYTES else b""
            return
        *lines, self._buf = buf.split(b"\n")
        for line in lines:
            self._line(line.rstrip(b"\r"))

    def _keep(self, data: bytes) -> None:
        if len(self.kept) < MAX_KEPT_EVENTS:
            self.kept.append(data)
        else:  # keep the newest: usage arrives last
            self.kept[-1] = data

    def _line(self, line: bytes) -> None:
        if not line:
            self._event = b""
            return
        if line.startswith(b"event:"):
            self._event = line[6:].strip()
            return
        if not line.startswith(b"data:"):
            return
        data = line[5:].strip()
        if self.api == OPENAI:
            if data == b"[DONE]":
                self.done = True
            elif data.startswith(b'{"error"') or self._event == b"error":
                self.error = True
                self._keep(data)
            elif not self._seen_first:
                self._seen_first = True
                self._keep(data)
            elif b'"usage"' in data and not _USAGE_NULL_RE.search(data):
                self._keep(data)
            return
        head = data[:48].replace(b" ", b"")
        event = self._event
        if event == b"error" or head.startswith(b'{"type":"error"'):
            self.error = True
            self._keep(data)
        elif event == b"message_stop" or head.startswith(b'{"type":"message_stop"'):
            self.done = True
        elif event in (b"message_start", b"message_delta") or head.startswith(
            (b'{"type":"message_start"', b'{"type":"message_delta"')
        ):
            self._keep(data)


def count(value: Any) -> int | None:
    """A token count as an int, or None when it is not a whole number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _get(mapping: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(mapping, Mapping):
            return None
        mapping = mapping.get(key)
    return mapping


def as_dict(obj: Any) -> Any:
    """A response, chunk or event as plain data: dicts pass, SDK objects are dumped."""
    if obj is None or isinstance(obj, (Mapping, list, str, int, float, bool)):
        return obj
    for method in ("model_dump", "to_dict", "dict"):
        fn = getattr(obj, method, None)
        if callable(fn):
            try:
                return fn()
            except Exception:  # noqa: S112 - try the next way
                continue
    return dict(vars(obj)) if hasattr(obj, "__dict__") else None


def usage_fields(api: str, docs: Iterable[Any]) -> dict[str, Any]:
    """Contract fields from a response body, or from a stream's kept chunks/events, in order.

    Returns ``response_model``, the token counts, ``service_tier`` and the extras
    ``provider_service_tier``, ``error_type`` and ``usage_missing`` (when no usage was seen: the
    counts are then 0)."""
    model = tier = error_type = None
    usage: dict[str, Any] | None = None
    for doc in docs:
        doc = as_dict(doc)
        if not isinstance(doc, Mapping):
            continue
        err = doc.get("error")
        if isinstance(err, Mapping):
            error_type = err.get("type") or err.get("code") or error_type
        if api == OPENAI:
            model = model or doc.get("model")
            if isinstance(doc.get("usage"), Mapping):
                usage = dict(doc["usage"])
            tier = doc.get("service_tier") or tier
            continue
        # Anthropic: a message, or the stream's message_start / message_delta events
        kind = doc.get("type")
        message = doc.get("message") if kind == "message_start" else doc
        if isinstance(message, Mapping):
            model = model or message.get("model")
            if isinstance(message.get("usage"), Mapping):
                if kind == "message_delta" and usage is not None:
                    usage.update({k: v for k, v in message["usage"].items() if v is not None})
                else:
                    usage = dict(message["usage"])
    out: dict[str, Any] = {"response_model": model if isinstance(model, str) and model else None}
    if error_type is not None:
        out["error_type"] = str(error_type)
    if usage is None:
        out.update(prompt_tokens=0, completion_tokens=0, usage_missing=True)
        tier_value = tier
    elif api == OPENAI:
        out["prompt_tokens"] = count(usage.get("prompt_tokens", usage.get("input_tokens")))
        out["completion_tokens"] = count(usage.get("completion_tokens", usage.get("output_tokens")))
        out["cached_prompt_tokens"] = count(
            _get(usage, "prompt_tokens_details", "cached_tokens")
            or _get(usage, "input_tokens_details", "cached_tokens")
        )
        out["reasoning_tokens"] = count(
            _get(usage, "completion_tokens_details", "reasoning_tokens")
            or _get(usage, "output_tokens_details", "reasoning_tokens")
        )
        tier_value = tier
    else:
        fresh = count(usage.get("input_tokens")) or 0
        read = count(usage.get("cache_read_input_tokens")) or 0
        write = count(usage.get("cache_creation_input_tokens")) or 0
        out["prompt_tokens"] = fresh + read + write
        out["cached_prompt_tokens"] = read if "cache_read_input_tokens" in usage else None
        out["cache_write_tokens"] = write if "cache_creation_input_tokens" in usage else None
        out["completion_tokens"] = count(usage.get("output_tokens"))
        tier_value = usage.get("service_tier") or tier
    for key in ("prompt_tokens", "completion_tokens"):
        if out.get(key) is None:  # usage present but without this count
            out[key] = 0
            out["usage_missing"] = True
    if isinstance(tier_value, str) and tier_value:
        if api == OPENAI:
            mapped = OPENAI_TIERS.get(tier_value)
        else:
            mapped = tier_value if tier_value in TIERS else None
        out["service_tier"] = mapped or "standard"
        if mapped is None:  # a tier the contract has no name for: standard, original kept
            out["provider_service_tier"] = tier_value
    return out
