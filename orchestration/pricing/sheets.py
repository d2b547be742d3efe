"""Price files other than the catalog, converted to the same flat price rules.

* LiteLLM's ``model_prices_and_context_window.json`` shape: per-token USD keys per model.
* Negotiated price sheets (CSV): provider, model, component, USD per million tokens, valid from/to.

Both become ``rule_kind = 'period'`` rules: in force from ``valid_from`` (inclusive) to
``valid_to`` (exclusive) when given, for every service tier unless a context is set.
Money is converted with ``Decimal`` from the file's text, never through binary floats.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

LITELLM = "litellm"
NEGOTIATED = "negotiated"

# LiteLLM provider names → the provider ids used by usage events and the catalog.
LITELLM_PROVIDERS = {
    "gemini": "google",
    "vertex_ai-language-models": "google",
    "vertex_ai-anthropic_models": "google",
    "xai": "x-ai",
    "text-completion-openai": "openai",
    "mistralai": "mistral",
}

# LiteLLM per-token key (without tier/batch suffix) → (catalog price key, usage key).
LITELLM_COMPONENTS = {
    "input_cost_per_token": ("input_mtok", "input_tokens"),
    "output_cost_per_token": ("output_mtok", "output_tokens"),
    "cache_read_input_token_cost": ("cache_read_mtok", "cache_read_tokens"),
    "cache_creation_input_token_cost": ("cache_write_mtok", "cache_write_tokens"),
    "output_cost_per_reasoning_token": ("output_reasoning_mtok", "output_reasoning_tokens"),
}
_TIER = re.compile(r"^(?P<base>.+?)_above_(?P<k>\d+)k_tokens(?P<batch>_batches)?$")

# Negotiated sheet components → (price key, usage key).
SHEET_COMPONENTS = {
    "input": ("input_mtok", "input_tokens"),
    "cache_read": ("cache_read_mtok", "cache_read_tokens"),
    "cache_write": ("cache_write_mtok", "cache_write_tokens"),
    "output": ("output_mtok", "output_tokens"),
    "reasoning": ("output_reasoning_mtok", "output_reasoning_tokens"),
}
SHEET_COLUMNS = (
    "provider",
    "model",
    "component",
    "usd_per_million_tokens",
    "valid_from",
    "valid_to",
)
SHEET_TIERS = {
    "standard": None,
    "batch": ("processing", "batch"),
    "flex": ("service_tier", "flex"),
    "priority": ("service_tier", "priority"),
}


class PriceFileError(ValueError):
    """A price file that cannot be used, with where and why."""


def _rule(
    source,
    version,
    provider,
    model,
    price_key,
    usage_key,
    usd,
    *,
    tier_start=None,
    context=None,
    valid_from=None,
    valid_to=None,
    unit_per=1_000_000,
) -> dict:
    return {
        "source": source,
        "export_version": version,
        "provider_id": provider,
        "model_id": model,
        "rule_kind": "period",
        "rule_rank": 0,
        "context_key": context[0] if context else None,
        "context_value": context[1] if context else None,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "tod_start": None,
        "tod_end": None,
        "price_key": price_key,
        "usage_key": usage_key,
        "unit_per": unit_per,
        "tier_start": tier_start,
        "usd_per_unit": str(usd),
    }


def _per_million(raw, where: str) -> Decimal:
    try:
        value = Decimal(str(raw))
    except InvalidOperation as exc:
        raise PriceFileError(f"{where}: {raw!r} is not a number") from exc
    if not value.is_finite() or value < 0:
        raise PriceFileError(f"{where}: {raw!r} is not a price")
    return (value * 1_000_000).normalize()


def litellm_rules(text: str, *, file_name: str, version: str) -> Iterator[dict]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PriceFileError(f"{file_name}: not JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(doc, dict):
        raise PriceFileError(f"{file_name}: expected an object of models, got {type(doc).__name__}")
    for key, spec in doc.items():
        if key == "sample_spec" or not isinstance(spec, dict):
            continue
        raw_provider = str(spec.get("litellm_provider") or "").strip()
        if not raw_provider:
            continue
        provider = LITELLM_PROVIDERS.get(raw_provider, raw_provider)
        model = (
            key.split("/", 1)[1]
            if "/" in key and key.split("/", 1)[0] in (raw_provider, provider)
            else key
        )
        for field, value in spec.items():
            if value is None or not isinstance(value, int | float | str):
                continue
            where = f"{file_name}: {key}.{field}"
            tier_start, context, base = None, None, field
            if match := _TIER.match(field):
                base, tier_start = match["base"], int(match["k"]) * 1000
                context = ("processing", "batch") if match["batch"] else None
            elif field.endswith("_batches"):
                base, context = field[: -len("_batches")], ("processing", "batch")
            if base == "input_cost_per_request":
                yield _rule(
                    LITELLM,
                    version,
                    provider,
                    model,
                    "requests_kcount",
                    "requests",
                    _per_million(value, where) / 1000,
                    context=context,
                    unit_per=1000,
                )
                continue
            if base not in LITELLM_COMPONENTS:
                continue
            price_key, usage_key = LITELLM_COMPONENTS[base]
            yield _rule(
                LITELLM,
                version,
                provider,
                model,
                price_key,
                usage_key,
                _per_million(value, where),
                tier_start=tier_start,
                context=context,
            )


def negotiated_rules(text: str, *, file_name: str, version: str) -> Iterator[dict]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in SHEET_COLUMNS if c not in header]
    if missing:
        raise PriceFileError(
            f"{file_name}: missing columns {', '.join(missing)} (expected {', '.join(SHEET_COLUMNS)}"
            ", optional service_tier)"
        )
    for line, row in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        where = f"{file_name}, line {line}"
        component = row["component"].lower()
        if component not in SHEET_COMPONENTS:
            raise PriceFileError(
                f"{where}: component {row['component']!r} is not one of {', '.join(SHEET_COMPONENTS)}"
            )
        tier = (row.get("service_tier") or "").lower()
        if tier and tier not in SHEET_TIERS:
            raise PriceFileError(
                f"{where}: service_tier {tier!r} is not one of {', '.join(SHEET_TIERS)}"
            )
        for column in ("provider", "model", "usd_per_million_tokens", "valid_from"):
            if not row[column]:
                raise PriceFileError(f"{where}: {column} is empty")
        for column in ("valid_from", "valid_to"):
            if row[column] and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", row[column]):
                raise PriceFileError(
                    f"{where}: {column} {row[column]!r} is not a date (YYYY-MM-DD)"
                )
        if row["valid_to"] and row["valid_to"] <= row["valid_from"]:
            raise PriceFileError(f"{where}: valid_to must be after valid_from")
        price_key, usage_key = SHEET_COMPONENTS[component]
        price = _per_million(row["usd_per_million_tokens"], where) / 1_000_000
        yield _rule(
            NEGOTIATED,
            version,
            row["provider"].lower(),
            row["model"],
            price_key,
            usage_key,
            price,
            context=SHEET_TIERS.get(tier) if tier else None,
            valid_from=row["valid_from"],
            valid_to=row["valid_to"] or None,
        )
