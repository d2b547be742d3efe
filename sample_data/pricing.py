"""What the providers bill: call costs from genai-prices unit prices, summed per provider month.

Unit prices are read once per model, tier and half-hour slot of the day (DeepSeek is cheaper at
night), at the middle of the window; costs are then a vectorised dot product per day of calls.
Providers bill every call that really happened, including those whose usage record was lost or
mangled. OpenAI and Anthropic bill what their daily usage and cost reports say
(``provider_reports``, planted daily gaps included); the other providers' invoices are a hair off
the computed cost, as real ones are. On top of that, each provider month gets one planted
difference for reconciliation to find (roles rotate
over providers month by month, see ``PLANTS``): a line for a model we do not price, calls that
never reached our logs (requests and amount both higher), a price drift (same requests, higher
amount), or nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from functools import cache
from pathlib import Path

import genai_prices
import numpy as np

from . import catalog as cat
from .frames import NULL, Frame
from .provider_reports import REPORT_PROVIDERS, model_names, model_provider
from .tasks import DAY_MS

SLOTS = 48  # half hours
_PROBE = 10_000  # tokens per probe: far below any long-context tier
_TIER_CONTEXT: dict[int, dict[str, str] | None] = {
    cat.STANDARD: None,
    cat.BATCH: {"processing": "batch"},
    cat.FLEX: {"service_tier": "flex"},
    cat.PRIORITY: {"service_tier": "priority"},
}
INVOICE_NOISE = 0.004  # relative standard deviation of billed vs computed
# The planted difference of provider number p in month number m is PLANTS[(p + m) % len(PLANTS)].
PLANTS = ("unpriced_model", "missing_events", "price_drift", None, None)
UNPRICED_SHARE = 0.05  # the unpriced model's line: this share of the provider month's cost
MISSING_EVENTS_SHARE = 0.06  # calls billed that never reached our logs
PRICE_DRIFT = 0.04  # the provider's prices this much above the catalog's


def _price(model: cat.Model, when: dt.datetime, context, **usage: int) -> Decimal:
    calc = genai_prices.calc_price(
        genai_prices.Usage(**usage),
        model.name,
        provider_id=model.provider,
        genai_request_timestamp=when,
        price_context=context,
    )
    return calc.total_price


def _components(model: cat.Model, when: dt.datetime, context) -> np.ndarray:
    """USD per token: uncached input, cache read, cache write, output."""
    n = _PROBE
    return (
        np.array(
            [
                float(_price(model, when, context, input_tokens=n)),
                float(_price(model, when, context, input_tokens=n, cache_read_tokens=n)),
                float(_price(model, when, context, input_tokens=n, cache_write_tokens=n)),
                float(_price(model, when, context, output_tokens=n)),
            ]
        )
        / n
    )


def _slot_time(noon: dt.datetime, slot: int) -> dt.datetime:
    return noon.replace(hour=slot // 2, minute=15 + 30 * (slot % 2))


@cache
def unit_prices(day: dt.date) -> np.ndarray:
    """Array (model, tier, slot, component) of USD per token on ``day``."""
    noon = dt.datetime.combine(day, dt.time(12, 15), tzinfo=dt.UTC)
    table = np.zeros((len(cat.MODELS), len(_TIER_CONTEXT), SLOTS, 4))
    for m, model in enumerate(cat.MODELS):
        try:
            for tier, context in _TIER_CONTEXT.items():
                table[m, tier, :, :] = _components(model, noon, context)
            probes = {
                _price(model, _slot_time(noon, s), None, input_tokens=_PROBE)
                for s in (0, 12, 24, 36)
            }
            if len(probes) > 1:  # time-of-day prices: scale every slot by its standard price
                by_input: dict[Decimal, np.ndarray] = {}
                standard = table[m, cat.STANDARD, 0].copy()
                for s in range(SLOTS):
                    when = _slot_time(noon, s)
                    key = _price(model, when, None, input_tokens=_PROBE)
                    if key not in by_input:
                        by_input[key] = np.divide(
                            _components(model, when, None),
                            standard,
                            out=np.ones(4),
                            where=standard > 0,
                        )
                    table[m, :, s, :] *= by_input[key]
        except Exception as exc:  # pragma: no cover - the catalog test guards this
            raise ValueError(
                f"genai-prices has no price for {model.provider}/{model.name}"
            ) from exc
    return table


class CostLedger:
    """Computed provider cost per (month, model), accumulated day by day."""

    def __init__(
        self, months: list[str], month_starts_ms: np.ndarray, prices: np.ndarray, workspaces: int
    ):
        self.months = months
        self.month_starts_ms = month_starts_ms
        self.prices = prices
        # per model as billed: the catalog's, then the unpriced models (provider_reports)
        self.usd = np.zeros((len(months), len(model_names())))
        self.workspace_usd = np.zeros((len(months), workspaces))
        self.requests = np.zeros((len(months), len(model_names())), dtype=np.int64)

    def add(
        self,
        calls: Frame,
        workspace: np.ndarray,
        billed_model: np.ndarray | None = None,
        cost: np.ndarray | None = None,
    ) -> np.ndarray:
        """Book the calls (``workspace``: each call's real workspace; ``billed_model``: the
        model the provider bills each call under, default the model that served it; ``cost``:
        ``call_costs(calls)`` when already computed); returns their USD cost at the catalog's
        prices."""
        cost = self.call_costs(calls) if cost is None else cost
        month = self.month_of(calls["occurred_ms"])
        model = calls["model"] if billed_model is None else billed_model
        np.add.at(self.usd, (month, model), cost)
        np.add.at(self.requests, (month, model), 1)
        np.add.at(self.workspace_usd, (month, workspace), cost)
        return cost

    def month_of(self, ms: np.ndarray) -> np.ndarray:
        return np.clip(
            np.searchsorted(self.month_starts_ms, ms, "right") - 1, 0, len(self.months) - 1
        )

    def call_costs(self, calls: Frame) -> np.ndarray:
        prompt = calls["cost_prompt"]
        cached = np.where(calls["cached"] == NULL, 0, calls["cached"])
        write = np.where(calls["cache_write"] == NULL, 0, calls["cache_write"])
        uncached = np.maximum(prompt - cached - write, 0)
        slot = (calls["occurred_ms"] % DAY_MS) // (DAY_MS // SLOTS)
        unit = self.prices[calls["model"], calls["tier"], slot]
        return (
            uncached * unit[:, 0]
            + cached * unit[:, 1]
            + write * unit[:, 2]
            + calls["cost_completion"] * unit[:, 3]
        )

    def write_invoices(
        self,
        directory: Path,
        rng: np.random.Generator,
        reported: dict[tuple[int, int], float] | None = None,
    ) -> tuple[list[Path], list]:
        """One CSV per provider and month, with the planted differences; returns the files and
        truth rows (provider, month, model, computed_usd, billed_usd, requests, billed_requests,
        planted).

        ``reported``: per (month, model code) the cost the provider's daily reports carry
        (``provider_reports``). A provider with reports bills what they say, before the month's
        planted difference, instead of the computed cost plus noise, so the monthly and the
        daily reconciliations tell the same story."""
        directory.mkdir(parents=True, exist_ok=True)
        files, truth = [], []
        names = model_names()
        for p, provider in enumerate(cat.PROVIDERS):
            models = [i for i in range(len(names)) if model_provider(i) == provider]
            for mo, month in enumerate(self.months):
                plant = PLANTS[(p + mo) % len(PLANTS)]
                rows = []
                for i in models:
                    computed = float(self.usd[mo, i])
                    if computed <= 0:
                        continue
                    requests = int(self.requests[mo, i])
                    factor = 1 + rng.normal(0, INVOICE_NOISE)
                    base = computed
                    if reported is not None and provider in REPORT_PROVIDERS:
                        factor, base = 1.0, reported.get((mo, i), 0.0)
                    billed_requests = requests
                    if plant == "missing_events":
                        factor *= 1 + MISSING_EVENTS_SHARE
                        billed_requests = int(round(requests * (1 + MISSING_EVENTS_SHARE)))
                    elif plant == "price_drift":
                        factor *= 1 + PRICE_DRIFT
                    billed = round(base * factor, 2)
                    rows.append(
                        [
                            provider,
                            month,
                            names[i],
                            billed_requests,
                            f"{billed:.2f}",
                            "USD",
                        ]
                    )
                    truth.append(
                        (
                            provider,
                            month,
                            names[i],
                            computed,
                            billed,
                            requests,
                            billed_requests,
                            plant,
                        )
                    )
                if not rows:
                    continue
                if plant == "unpriced_model":
                    total = float(self.usd[mo, models].sum())
                    name = f"{cat.MODELS[models[0]].name}-private-preview"
                    billed = round(max(total * UNPRICED_SHARE, 1.0), 2)
                    billed_requests = max(1, int(self.requests[mo, models].sum() // 50))
                    rows.append([provider, month, name, billed_requests, f"{billed:.2f}", "USD"])
                    truth.append((provider, month, name, 0.0, billed, 0, billed_requests, plant))
                path = directory / f"{provider}-{month}.csv"
                tmp = path.with_name(f".{path.name}.tmp")
                with open(tmp, "w", newline="") as fh:
                    writer = csv.writer(fh, lineterminator="\n")
                    writer.writerow(
                        ["provider", "invoice_month", "model", "requests", "amount_usd", "currency"]
                    )
                    writer.writerows(rows)
                tmp.replace(path)
                files.append(path)
        return files, truth


def month_bounds(start: dt.date, end: dt.date) -> tuple[list[str], np.ndarray]:
    """Months touched by [start, end + 1 day] and their first instants in epoch ms."""
    months, starts = [], []
    cursor = dt.date(start.year, start.month, 1)
    last = end + dt.timedelta(days=1)
    while cursor <= last:
        months.append(f"{cursor.year:04d}-{cursor.month:02d}")
        starts.append(int(dt.datetime.combine(cursor, dt.time(), tzinfo=dt.UTC).timestamp() * 1000))
        cursor = dt.date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
    return months, np.array(starts, dtype=np.int64)
