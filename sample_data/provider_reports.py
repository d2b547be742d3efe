"""The providers' own daily usage and cost reports: OpenAI's and Anthropic's admin-API pages.

The providers saw every call the generator made, before any of its records was mangled or lost
(``faults.py``): ``DailyLedger`` books each call, by UTC day, model and service tier, as the
provider meters it (requests, uncached input, cache read, cache write, output tokens and their
cost at the generator's unit prices). ``write_pages`` renders the books as the pages a daily pull
of these endpoints returns (``docs/provider-reconciliation.md`` has the shapes and units):

* OpenAI ``GET /v1/organization/usage/completions`` (``group_by=model&group_by=batch``) and
  ``GET /v1/organization/costs`` (``group_by=line_item&group_by=project_id``; dollars as JSON
  numbers; ``line_item`` is ``"<model>, input|cached input|output"``, priority tier prefixed
  ``"priority | "``); models under their dated snapshot names, as OpenAI reports them;
* Anthropic ``GET /v1/organizations/usage_report/messages`` (``group_by[]=model``,
  ``service_tier``, ``context_window``) and ``GET /v1/organizations/cost_report``
  (``group_by[]=description``; cents as decimal strings).

Seven daily buckets a page, ``has_more``/``next_page`` chaining the pages of one pull, under
``landing/provider_reports/<provider>/<endpoint>/``.

On top of the honest books, each provider day gets one planted gap on the day's largest model
(by reported cost), rotating like ``PLANTS`` (``(day + 3 x provider) % 7``), sized to clear the
1 % tolerance: traffic that bypassed the gateway (+8 % requests, tokens and cost), a batch
discount we did not apply (20 % of the model's standard traffic reported as batch, at half
price), cache accounting (20 % of the uncached input reported as cache reads; the cost follows),
a price drift (+5 % cost, same tokens), an unpriced model (10 % of the model's calls served by a
model our price list lacks, in the report and in our usage events alike: ``relabel_unpriced``),
or nothing. Days without a plant still differ from our data by the calls whose usage records
were quarantined or whose stream never closed: the truth (``gap_rows``) names them.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from pathlib import Path

import numpy as np

from . import catalog as cat
from .faults import FAULTS
from .frames import NULL, Frame
from .records import MALFORMED, OK, STREAM_FINAL, STREAM_START
from .tasks import DAY_MS

REPORT_PROVIDERS: tuple[str, ...] = ("openai", "anthropic")
# A model the provider bills and our price list (genai-prices) does not know: the unpriced-model
# plant serves part of a day's traffic with it. Checked unresolvable by the tests.
UNPRICED_MODELS: dict[str, str] = {
    "openai": "ft:gpt-4.1-2025-04-14:acme::B1xYz01",
    "anthropic": "claude-custom-acme-20261101",
}
UNPRICED_PRICE_FACTOR = 1.5  # the provider charges it this much above the model it replaces
UNPRICED_SHARE = 0.10  # of the day's largest model's calls
# OpenAI reports dated snapshots; the gateway logs the alias.
OPENAI_SNAPSHOTS: dict[str, str] = {
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "o3-mini": "o3-mini-2025-01-31",
    "o4-mini": "o4-mini-2025-04-16",
}
ANTHROPIC_DISPLAY: dict[str, str] = {
    "claude-sonnet-4-20250514": "Claude Sonnet 4",
    "claude-3-5-sonnet-20241022": "Claude Sonnet 3.5",
    "claude-3-5-haiku-20241022": "Claude Haiku 3.5",
    UNPRICED_MODELS["anthropic"]: "Claude Custom (acme)",
}
# The planted gap of provider number p (in REPORT_PROVIDERS) on day d: PLANTS[(d + 3p) % 7].
# The names are the daily reconciliation's likely causes.
PLANTS: tuple[str | None, ...] = (
    "bypassed gateway",
    "batch or tier discount",
    "cache accounting",
    "price drift",
    "unpriced model",
    None,
    None,
)
BYPASS_SHARE = 0.08
BATCH_SHARE = 0.20
BATCH_PRICE = 0.5
CACHE_SHARE = 0.20
PRICE_DRIFT = 0.05
BUCKETS_PER_PAGE = 7
OPENAI_PROJECT = "proj_Qm3v8TgEa1c2"
CONTEXT_WINDOW = "0-200k"  # every sample prompt is under 200k tokens (tasks.MAX_PROMPT)
ENDPOINTS: dict[str, tuple[str, str]] = {
    "openai": ("usage_completions", "costs"),
    "anthropic": ("usage_messages", "cost_report"),
}

# token columns of the books
REQ, UNCACHED, CACHED, WRITE, OUTPUT = range(5)
# cost components (as pricing.unit_prices): uncached input, cache read, cache write, output
_TIERS = len(cat.TIERS) - 1  # standard, batch, flex, priority (the unknown tier is never real)


def model_names() -> list[str]:
    """Every model name a usage record or report can carry: the catalog's, then the unpriced."""
    return [m.name for m in cat.MODELS] + [UNPRICED_MODELS[p] for p in REPORT_PROVIDERS]


def unpriced_code(provider: str) -> int:
    return len(cat.MODELS) + REPORT_PROVIDERS.index(provider)


def model_provider(code: int) -> str:
    n = len(cat.MODELS)
    return cat.MODELS[code].provider if code < n else REPORT_PROVIDERS[code - n]


def reported_name(code: int) -> str:
    name = model_names()[code]
    return OPENAI_SNAPSHOTS.get(name, name)


def relabel_unpriced(
    calls: Frame, costs: np.ndarray, day: int, day0_ms: int
) -> dict[str, np.ndarray]:
    """On a provider's unpriced-model day, move a share of its largest model's calls of that day
    to the provider's unpriced model. Returns ``billed_model`` (each call's model as the provider
    bills it: the catalog code, or the unpriced code) and the relabelled call ids."""
    billed = calls["model"].copy()
    on_day = (calls["occurred_ms"] - day0_ms) // DAY_MS == day
    chosen: list[np.ndarray] = []
    for p, provider in enumerate(REPORT_PROVIDERS):
        if PLANTS[(day + 3 * p) % len(PLANTS)] != "unpriced model":
            continue
        mine = on_day & (cat_provider_of(calls["model"]) == provider)
        if not mine.any():
            continue
        by_model = np.bincount(calls["model"][mine], weights=costs[mine], minlength=len(cat.MODELS))
        largest = int(np.argmax(by_model))
        rows = np.flatnonzero(mine & (calls["model"] == largest))
        # every n-th call of the model, in call order: deterministic and spread over the day
        step = max(1, int(round(1 / UNPRICED_SHARE)))
        pick = rows[np.argsort(calls["call"][rows], kind="stable")][::step]
        billed[pick] = unpriced_code(provider)
        chosen.append(calls["call"][pick])
    ids = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
    codes = billed[np.isin(calls["call"], ids)] if ids.size else ids
    order = np.argsort(calls["call"][np.isin(calls["call"], ids)], kind="stable")
    return {"billed_model": billed, "relabelled": np.sort(ids), "codes": codes[order]}


def relabel_records(records: Frame, unpriced: dict[str, np.ndarray]) -> np.ndarray:
    """The records' model codes with the relabelled calls' records (every copy of them, a
    mangled model excepted) under their unpriced model."""
    model = records["model"].copy()
    ids = unpriced["relabelled"]
    if not ids.size:
        return model
    hit = np.isin(records["true_ev"], ids) & (model >= 0)
    model[hit] = unpriced["codes"][np.searchsorted(ids, records["true_ev"][hit])]
    return model


_PROVIDER_OF_MODEL = np.array([m.provider for m in cat.MODELS])
_REPORTED = np.array([model_provider(i) in REPORT_PROVIDERS for i in range(len(model_names()))])


def cat_provider_of(model: np.ndarray) -> np.ndarray:
    return _PROVIDER_OF_MODEL[model]


def _usage(prompt: np.ndarray, cached: np.ndarray, write: np.ndarray, completion: np.ndarray):
    """(n, 5) requests and tokens of calls or records; NULL counts as 0."""
    prompt, cached, write, completion = (
        np.where(x == NULL, 0, x) for x in (prompt, cached, write, completion)
    )
    out = np.empty((prompt.size, 5), dtype=np.int64)
    out[:, REQ] = 1
    out[:, CACHED] = cached
    out[:, WRITE] = write
    out[:, UNCACHED] = np.maximum(prompt - cached - write, 0)
    out[:, OUTPUT] = completion
    return out


class DailyLedger:
    """Per UTC day, model (catalog codes, then the unpriced models) and tier of the report
    providers: what the provider metered (every real call), what our valid usage records carry,
    and the true usage of the calls we lost (record quarantined, stream never closed)."""

    def __init__(self, start: dt.date, days: int, prices: np.ndarray) -> None:
        self.start = start
        self.day0_ms = int(dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC).timestamp() * 1000)
        self.days = days + 2  # calls of the last tasks may run past midnight
        self.prices = prices
        shape = (self.days, len(model_names()), _TIERS, 5)
        self.tokens = np.zeros(shape, dtype=np.int64)  # provider: every call
        self.cost = np.zeros(shape[:-1] + (4,))  # provider: USD per component
        self.ours = np.zeros(shape, dtype=np.int64)
        self.quarantined = np.zeros(shape, dtype=np.int64)
        self.open_streams = np.zeros(shape, dtype=np.int64)
        self.lost_faults: dict[tuple[int, int], set[str]] = {}  # (day, model): faults of lost calls

    def _day(self, ms: np.ndarray) -> np.ndarray:
        return np.clip((ms - self.day0_ms) // DAY_MS, 0, self.days - 1)

    def add(self, calls: Frame, billed_model: np.ndarray, records: Frame) -> None:
        """Book a day's calls as the provider billed them and their records as we logged them."""
        report = _REPORTED[billed_model]
        usage = _usage(
            calls["cost_prompt"], calls["cached"], calls["cache_write"], calls["cost_completion"]
        )
        slot = (calls["occurred_ms"] % DAY_MS) // (DAY_MS // self.prices.shape[2])
        unit = self.prices[calls["model"], calls["tier"], slot]
        factor = np.where(billed_model >= len(cat.MODELS), UNPRICED_PRICE_FACTOR, 1.0)
        cost = usage[:, 1:] * unit * factor[:, None]
        key = (self._day(calls["occurred_ms"]), billed_model, calls["tier"])
        rows = np.flatnonzero(report)
        np.add.at(self.tokens, tuple(k[rows] for k in key), usage[rows])
        np.add.at(self.cost, tuple(k[rows] for k in key), cost[rows])

        kind, true_ev = records["kind"], records["true_ev"]
        victims = (kind == MALFORMED) & (true_ev >= 0)
        lost = np.isin(calls["call"], true_ev[victims])
        fault_of = dict(
            zip(true_ev[victims].tolist(), records["fault"][victims].tolist(), strict=True)
        )
        for row in np.flatnonzero(lost & report):  # a few calls a day
            day, code = int(key[0][row]), int(key[1][row])
            fault = FAULTS[fault_of[int(calls["call"][row])]]
            self.lost_faults.setdefault((day, code), set()).add(fault)
        starts = (kind == STREAM_START) & records["incomplete"]
        open_ = np.isin(calls["call"], true_ev[starts])
        for flag, book in ((lost, self.quarantined), (open_, self.open_streams)):
            rows = np.flatnonzero(flag & report)
            np.add.at(book, tuple(k[rows] for k in key), usage[rows])

        # our side: valid final records, and the start record of a stream that never closed
        model = records["model"]
        mine = (model >= 0) & (true_ev >= 0) & _REPORTED[np.maximum(model, 0)]
        rows = np.flatnonzero(mine & (np.isin(kind, (OK, STREAM_FINAL)) | starts))
        logged = _usage(
            records["prompt"][rows],
            records["cached"][rows],
            records["cache_write"][rows],
            records["completion"][rows],
        )
        tier = np.where(records["tier"][rows] < 0, cat.STANDARD, records["tier"][rows])
        np.add.at(self.ours, (self._day(records["true_occ_ms"][rows]), model[rows], tier), logged)

    # -- the reports ---------------------------------------------------------------------------
    def last_day(self) -> int:
        """Index of the last day any report provider served a call."""
        busy = np.flatnonzero(self.tokens[..., REQ].sum(axis=(1, 2)) > 0)
        return int(busy[-1]) if busy.size else 0

    def reported(self) -> tuple[np.ndarray, np.ndarray, dict[tuple[str, int], tuple[int, str]]]:
        """The provider's books with the planted gaps: tokens, cost, and per (provider, day)
        the planted (model code, cause)."""
        tokens, cost = self.tokens.copy(), self.cost.copy()
        plants: dict[tuple[str, int], tuple[int, str]] = {}
        for p, provider in enumerate(REPORT_PROVIDERS):
            catalog = [i for i, m in enumerate(cat.MODELS) if m.provider == provider]
            for day in range(self.last_day() + 1):
                cause = PLANTS[(day + 3 * p) % len(PLANTS)]
                if cause is None:
                    continue
                if cause == "unpriced model":
                    code = unpriced_code(provider)
                    if tokens[day, code, :, REQ].sum():
                        plants[(provider, day)] = (code, cause)
                    continue
                by_model = cost[day, catalog].sum(axis=(1, 2))
                if by_model.max() <= 0:
                    continue
                code = catalog[int(np.argmax(by_model))]
                if _plant(cause, tokens[day, code], cost[day, code], self.prices[code, :_TIERS, 0]):
                    plants[(provider, day)] = (code, cause)
        return tokens, cost, plants


def _plant(cause: str, tokens: np.ndarray, cost: np.ndarray, unit: np.ndarray) -> bool:
    """Apply one planted gap to a model day's books (tier x column), in place."""
    std = cat.STANDARD
    if cause == "bypassed gateway":
        tokens[:] = np.round(tokens * (1 + BYPASS_SHARE)).astype(np.int64)
        cost *= 1 + BYPASS_SHARE
    elif cause == "price drift":
        cost *= 1 + PRICE_DRIFT
    elif cause == "batch or tier discount":
        moved = np.floor(tokens[std] * BATCH_SHARE).astype(np.int64)
        if moved[REQ] == 0:
            return False
        tokens[std] -= moved
        tokens[cat.BATCH] += moved
        part = moved[1:] * unit[std]
        cost[std] -= part
        cost[cat.BATCH] += part * BATCH_PRICE
    elif cause == "cache accounting":
        moved = np.floor(tokens[:, UNCACHED] * CACHE_SHARE).astype(np.int64)
        if moved.sum() == 0:
            return False
        tokens[:, UNCACHED] -= moved
        tokens[:, CACHED] += moved
        cost[:, 0] -= moved * unit[:, 0]
        cost[:, 1] += moved * unit[:, 1]
    return True


# -- pages ------------------------------------------------------------------------------------


def _epoch(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp())


def _rfc3339(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _usd(value: float) -> float:
    """OpenAI's dollars: a JSON number; rounded to 10 places so the text stays plain."""
    return round(float(value), 10)


def _cents(value_usd: float) -> str:
    """Anthropic's amount: cents as a decimal string ("123.45" is $1.2345)."""
    text = f"{round(float(value_usd) * 100, 8):.8f}".rstrip("0").rstrip(".")
    return text or "0"


_BATCH_GROUPS = ((False, (cat.STANDARD, cat.FLEX, cat.PRIORITY)), (True, (cat.BATCH,)))
_OPENAI_COMPONENTS = (
    ("input", (0, 2), UNCACHED),
    ("cached input", (1,), CACHED),
    ("output", (3,), OUTPUT),
)
_ANTHROPIC_TOKEN_TYPES = (
    ("uncached_input_tokens", 0, UNCACHED, "Input Tokens"),
    ("cache_creation.ephemeral_5m_input_tokens", 2, WRITE, "Cache Write (5m) Tokens"),
    ("cache_read_input_tokens", 1, CACHED, "Cache Read Tokens"),
    ("output_tokens", 3, OUTPUT, "Output Tokens"),
)


def _openai_usage(tokens: np.ndarray, codes: list[int]) -> list[dict]:
    out = []
    for code in codes:
        for batch, tiers in _BATCH_GROUPS:
            t = tokens[code, list(tiers)].sum(axis=0)
            if t[REQ] == 0:
                continue
            out.append(
                {
                    "object": "organization.usage.completions.result",
                    "input_tokens": int(t[UNCACHED] + t[CACHED] + t[WRITE]),
                    "output_tokens": int(t[OUTPUT]),
                    "num_model_requests": int(t[REQ]),
                    "input_cached_tokens": int(t[CACHED]),
                    "input_audio_tokens": 0,
                    "output_audio_tokens": 0,
                    "project_id": None,
                    "user_id": None,
                    "api_key_id": None,
                    "model": reported_name(code),
                    "batch": batch,
                    "service_tier": None,
                }
            )
    return out


def _openai_costs(tokens: np.ndarray, cost: np.ndarray, codes: list[int]) -> tuple[list, dict]:
    out, totals = [], {}
    for code in codes:
        for prefix, tiers in (
            ("", [cat.STANDARD, cat.BATCH, cat.FLEX]),
            ("priority | ", [cat.PRIORITY]),
        ):
            t, c = tokens[code, tiers].sum(axis=0), cost[code, tiers].sum(axis=0)
            for component, parts, column in _OPENAI_COMPONENTS:
                if t[column] == 0:
                    continue
                value = _usd(c[list(parts)].sum())
                totals[code] = totals.get(code, 0.0) + value
                out.append(
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": value, "currency": "usd"},
                        "line_item": f"{prefix}{reported_name(code)}, {component}",
                        "project_id": OPENAI_PROJECT,
                    }
                )
    return out, totals


def _anthropic_usage(tokens: np.ndarray, codes: list[int]) -> list[dict]:
    out = []
    for code in codes:
        for tier in range(_TIERS):
            t = tokens[code, tier]
            if t[REQ] == 0:
                continue
            out.append(
                {
                    "uncached_input_tokens": int(t[UNCACHED]),
                    "cache_creation": {
                        "ephemeral_1h_input_tokens": 0,
                        "ephemeral_5m_input_tokens": int(t[WRITE]),
                    },
                    "cache_read_input_tokens": int(t[CACHED]),
                    "output_tokens": int(t[OUTPUT]),
                    "server_tool_use": {"web_search_requests": 0},
                    "api_key_id": None,
                    "workspace_id": None,
                    "model": reported_name(code),
                    "service_tier": cat.TIERS[tier],
                    "context_window": CONTEXT_WINDOW,
                }
            )
    return out


def _anthropic_costs(tokens: np.ndarray, cost: np.ndarray, codes: list[int]) -> tuple[list, dict]:
    out, totals = [], {}
    for code in codes:
        name = reported_name(code)
        for tier in range(_TIERS):
            for token_type, part, column, label in _ANTHROPIC_TOKEN_TYPES:
                if tokens[code, tier, column] == 0:
                    continue
                cents = _cents(cost[code, tier, part])
                totals[code] = totals.get(code, 0.0) + float(cents) / 100
                out.append(
                    {
                        "currency": "USD",
                        "amount": cents,
                        "workspace_id": None,
                        "description": f"{ANTHROPIC_DISPLAY.get(name, name)} Usage - {label}",
                        "cost_type": "tokens",
                        "context_window": CONTEXT_WINDOW,
                        "model": name,
                        "service_tier": cat.TIERS[tier],
                        "token_type": token_type,
                    }
                )
    return out, totals


def _bucket(provider: str, day: dt.date, results: list[dict]) -> dict:
    end = day + dt.timedelta(days=1)
    if provider == "openai":
        return {
            "object": "bucket",
            "start_time": _epoch(day),
            "end_time": _epoch(end),
            "results": results,
        }
    return {"starting_at": _rfc3339(day), "ending_at": _rfc3339(end), "results": results}


def _cursor(provider: str, endpoint: str, day: dt.date) -> str:
    raw = f"{provider}/{endpoint}/{day.isoformat()}".encode("ascii")
    return "page_" + base64.urlsafe_b64encode(raw).decode("ascii")


def write_pages(
    landing: Path, start: dt.date, last_day: int, tokens: np.ndarray, cost: np.ndarray
) -> tuple[list[Path], dict[tuple[str, int, int], float]]:
    """Write one pull of every endpoint, days 0..``last_day``, as pages of seven daily buckets.

    Returns the files and the reported cost per (provider, day, model code) as the pages say it
    (the sum of the amounts written, in USD)."""
    files: list[Path] = []
    reported: dict[tuple[str, int, int], float] = {}
    days = [start + dt.timedelta(days=d) for d in range(last_day + 1)]
    end = days[-1] + dt.timedelta(days=1)
    pulled = dt.datetime.combine(end, dt.time(6, 0), tzinfo=dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    for provider in REPORT_PROVIDERS:
        codes = [i for i in range(len(model_names())) if model_provider(i) == provider]
        usage_endpoint, cost_endpoint = ENDPOINTS[provider]
        for endpoint in (usage_endpoint, cost_endpoint):
            buckets = []
            for d, day in enumerate(days):
                if endpoint == usage_endpoint:
                    make = _openai_usage if provider == "openai" else _anthropic_usage
                    results = make(tokens[d], codes)
                else:
                    make = _openai_costs if provider == "openai" else _anthropic_costs
                    results, totals = make(tokens[d], cost[d], codes)
                    for code, usd in totals.items():
                        reported[(provider, d, code)] = usd
                buckets.append(_bucket(provider, day, results))
            folder = landing / provider / endpoint
            folder.mkdir(parents=True, exist_ok=True)
            pages = [
                buckets[i : i + BUCKETS_PER_PAGE] for i in range(0, len(buckets), BUCKETS_PER_PAGE)
            ]
            for n, data in enumerate(pages, start=1):
                more = n < len(pages)
                page = {"object": "page"} if provider == "openai" else {}
                page |= {
                    "data": data,
                    "has_more": more,
                    "next_page": _cursor(provider, endpoint, days[n * BUCKETS_PER_PAGE])
                    if more
                    else None,
                }
                name = f"{days[0].isoformat()}_{end.isoformat()}_pulled-{pulled}_page-{n}.json"
                path = folder / name
                tmp = path.with_name(f".{name}.tmp")
                tmp.write_text(json.dumps(page, indent=2) + "\n", encoding="utf-8")
                os.replace(tmp, path)
                files.append(path)
    return files, reported


# -- truth ------------------------------------------------------------------------------------

TOLERANCE = 0.01  # the daily reconciliation's default tolerance (1 %)
MIN_GAP_USD = 0.01


def _within(our_tokens: float, their_tokens: float, our_usd: float, their_usd: float) -> bool:
    return (
        abs(their_usd - our_usd) <= max(TOLERANCE * our_usd, MIN_GAP_USD)
        and abs(their_tokens - our_tokens) <= TOLERANCE * our_tokens
    )


def gap_rows(
    ledger: DailyLedger,
    tokens: np.ndarray,
    plants: dict[tuple[str, int], tuple[int, str]],
    reported_usd: dict[tuple[str, int, int], float],
    last_day: int,
) -> list[dict]:
    """One truth row per provider, day and model with calls on either side: our tokens and
    cost (our usage records, priced as the generator prices them; an unpriced model costs 0),
    the reported ones, the planted cause, and the expected likely cause. An unplanted row the
    tolerance does not cover is ``lost in quarantine`` when our data plus the quarantined calls
    is within tolerance, else ``lost in open streams`` (tokens of streams that never closed)."""
    rows = []
    unit = ledger.prices[:, :_TIERS, 0, :]  # openai and anthropic have one price all day
    for provider in REPORT_PROVIDERS:
        for d in range(last_day + 1):
            day = ledger.start + dt.timedelta(days=d)
            for code in (i for i in range(len(model_names())) if model_provider(i) == provider):
                ours, theirs = ledger.ours[d, code], tokens[d, code]
                if ours[:, REQ].sum() == 0 and theirs[:, REQ].sum() == 0:
                    continue
                priced = code < len(cat.MODELS)
                our_usd = float((ours[:, 1:] * unit[code]).sum()) if priced else 0.0
                lost = ledger.quarantined[d, code]
                lost_usd = float((lost[:, 1:] * unit[code]).sum()) if priced else 0.0
                their_usd = reported_usd.get((provider, d, code), 0.0)
                planted = plants.get((provider, d), (None, None))
                cause = planted[1] if planted[0] == code else None
                our_tok = int(ours[:, 1:].sum())
                their_tok = int(theirs[:, 1:].sum())
                lost_tok = int(lost[:, 1:].sum())
                if cause is not None:
                    expected = cause
                elif _within(our_tok, their_tok, our_usd, their_usd):
                    expected = "within tolerance"
                elif _within(our_tok + lost_tok, their_tok, our_usd + lost_usd, their_usd):
                    expected = "lost in quarantine"
                else:
                    expected = "lost in open streams"
                rows.append(
                    {
                        "provider": provider,
                        "day": day,
                        "model": reported_name(code),
                        "our_model": model_names()[code],
                        "planted": cause,
                        "expected_cause": expected,
                        "our_calls": int(ours[:, REQ].sum()),
                        "reported_requests": int(theirs[:, REQ].sum())
                        if provider == "openai"
                        else None,
                        "provider_requests": int(theirs[:, REQ].sum()),
                        "our_input_tokens": int(ours[:, [UNCACHED, CACHED, WRITE]].sum()),
                        "reported_input_tokens": int(theirs[:, [UNCACHED, CACHED, WRITE]].sum()),
                        "our_cache_read_tokens": int(ours[:, CACHED].sum()),
                        "reported_cache_read_tokens": int(theirs[:, CACHED].sum()),
                        "our_cache_write_tokens": int(ours[:, WRITE].sum()),
                        "reported_cache_write_tokens": int(theirs[:, WRITE].sum()),
                        "our_output_tokens": int(ours[:, OUTPUT].sum()),
                        "reported_output_tokens": int(theirs[:, OUTPUT].sum()),
                        "our_batch_input_tokens": int(
                            ours[cat.BATCH, [UNCACHED, CACHED, WRITE]].sum()
                        ),
                        "reported_batch_input_tokens": int(
                            theirs[cat.BATCH, [UNCACHED, CACHED, WRITE]].sum()
                        ),
                        "our_cost_usd": our_usd,
                        "reported_cost_usd": their_usd,
                        "quarantined_calls": int(lost[:, REQ].sum()),
                        "quarantined_input_tokens": int(lost[:, [UNCACHED, CACHED, WRITE]].sum()),
                        "quarantined_output_tokens": int(lost[:, OUTPUT].sum()),
                        "quarantined_cost_usd": lost_usd,
                        "quarantined_faults": ",".join(
                            sorted(ledger.lost_faults.get((d, code), ()))
                        )
                        or None,
                        "open_stream_calls": int(ledger.open_streams[d, code, :, REQ].sum()),
                    }
                )
    return rows
