"""Export the genai-prices catalog as flat, effective-dated price rules (one JSON line each).

The warehouse prices calls in SQL from these rules; it never imports Python to price. One rule is
one price of one component (``price_key``) of one model, for one tier threshold, under one
condition. The catalog's own selection semantics are kept as data:

* ``rule_kind = 'standard'``: the model's conditional prices. For a call, the standard rule set
  with the highest ``rule_rank`` whose condition holds is in force (rank 0 has no condition, so
  one always holds). Conditions: ``valid_from`` (UTC date the price starts) or a daily UTC
  time-of-day window ``[tod_start, tod_end)``, which may wrap past midnight.
* ``rule_kind = 'variant'``: request-specific overrides selected by context (``processing=batch``,
  ``service_tier=flex|priority``), optionally from ``valid_from``; per component, the matching
  variant with the lowest ``rule_rank`` replaces the standard price.
* Tiers: ``tier_start`` null is the base price; a tier row applies to *all* units when the call's
  total input tokens are strictly above ``tier_start`` (cliff), the highest such tier winning.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path

from genai_prices import data_snapshot, types
from genai_prices.units import _get_registry

SOURCE = "genai-prices"
EXPORT_FORMAT_VERSION = 1


def catalog_version() -> str:
    return version("genai-prices")


def export_file_name(package_version: str | None = None) -> str:
    return f"genai-prices-{package_version or catalog_version()}.rules.jsonl.gz"


def _utc_time(value: time) -> str:
    if value.tzinfo is not None:
        value = datetime.combine(date(1970, 1, 1), value).astimezone(UTC).time()
    return value.strftime("%H:%M:%S")


def _constraint_columns(constraint) -> dict:
    out = {"valid_from": None, "tod_start": None, "tod_end": None}
    if isinstance(constraint, types.StartDateConstraint):
        out["valid_from"] = constraint.start_date.isoformat()
    elif isinstance(constraint, types.TimeOfDateConstraint):
        out["tod_start"] = _utc_time(constraint.start_time)
        out["tod_end"] = _utc_time(constraint.end_time)
    elif constraint is not None:
        raise ValueError(f"unsupported price constraint {constraint!r}")
    return out


def _price_rows(prices: types.ModelPrice) -> Iterator[dict]:
    registry = _get_registry()
    for price_key, value in prices.__dict__.items():
        if value is None or price_key.startswith("_"):
            continue
        unit = registry.unit_for_price_key(price_key)
        base = {"price_key": price_key, "usage_key": unit.usage_key, "unit_per": unit.per}
        if isinstance(value, types.TieredPrices):
            yield {**base, "tier_start": None, "usd_per_unit": str(value.base)}
            for tier in value.tiers:
                yield {**base, "tier_start": tier.start, "usd_per_unit": str(tier.price)}
        else:
            yield {**base, "tier_start": None, "usd_per_unit": str(Decimal(value))}


def catalog_rules(snapshot=None) -> Iterator[dict]:
    """Every price rule of every model of every provider in the catalog."""
    snapshot = snapshot or data_snapshot.get_snapshot()
    for provider in snapshot.providers:
        for model in provider.models:
            common = {"provider_id": provider.id, "model_id": model.id}
            conditionals = (
                [(None, model.prices)]
                if isinstance(model.prices, types.ModelPrice)
                else [(c.constraint, c.prices) for c in model.prices]
            )
            starts = sorted(
                {c.start_date for c, _ in conditionals if isinstance(c, types.StartDateConstraint)}
            )
            for rank, (constraint, prices) in enumerate(conditionals):
                columns = _constraint_columns(constraint)
                valid_to = _next_start(columns["valid_from"], starts, constraint)
                for row in _price_rows(prices):
                    yield {
                        **common,
                        "rule_kind": "standard",
                        "rule_rank": rank,
                        "context_key": None,
                        "context_value": None,
                        **columns,
                        "valid_to": valid_to,
                        **row,
                    }
            for rank, variant in enumerate(model.price_variants or ()):
                if len(variant.when) != 1:
                    continue  # not in the catalog today; a multi-key context cannot match our calls
                [(key, value)] = variant.when.items()
                columns = _constraint_columns(variant.constraint)
                for row in _price_rows(variant.prices):
                    yield {
                        **common,
                        "rule_kind": "variant",
                        "rule_rank": rank,
                        "context_key": key,
                        "context_value": value,
                        **columns,
                        "valid_to": None,
                        **row,
                    }


def _next_start(valid_from: str | None, starts: list[date], constraint) -> str | None:
    """For a standard date-ranged rule, the first later start date (informational)."""
    if constraint is not None and not isinstance(constraint, types.StartDateConstraint):
        return None
    current = date.fromisoformat(valid_from) if valid_from else date.min
    later = [s for s in starts if s > current]
    return later[0].isoformat() if later else None


def export_catalog(pricing_landing: Path) -> tuple[Path, int, bool]:
    """Write the installed catalog's rules into ``landing/pricing/`` once per package version.

    Returns (path, rule count, whether a new file was written)."""
    pricing_landing.mkdir(parents=True, exist_ok=True)
    target = pricing_landing / export_file_name()
    if target.exists():
        with gzip.open(target, "rt") as handle:
            return target, sum(1 for _ in handle), False
    package_version = catalog_version()
    tmp = target.with_name("." + target.name + ".tmp")
    count = 0
    with gzip.GzipFile(tmp, "wb", mtime=0) as raw:
        for rule in catalog_rules():
            line = {"source": SOURCE, "export_version": package_version, **rule}
            raw.write((json.dumps(line, sort_keys=True) + "\n").encode())
            count += 1
    os.replace(tmp, target)
    return target, count, True
