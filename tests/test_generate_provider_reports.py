"""The generator's provider side: OpenAI's and Anthropic's daily usage and cost report pages.

The pages must have the shapes of tests/fixtures/provider_reports (the admin APIs' shapes, checked
key by key and type by type here, no SDK), chain their pages completely, equal on unplanted days
what the generated usage events say (recomputed here from the landing files and genai-prices),
and carry each planted gap with its direction and size.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import defaultdict
from functools import cache
from pathlib import Path

import genai_prices
import pandas as pd
import pyarrow.parquet as pq
import pytest

from orchestration.pricing.resolution import resolve_pair
from sample_data import generate
from sample_data.shapes import final_records

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "provider_reports"
ENDPOINTS = {
    ("openai", "usage_completions"),
    ("openai", "costs"),
    ("anthropic", "usage_messages"),
    ("anthropic", "cost_report"),
}
START, DAYS = dt.date(2026, 11, 3), 20  # ends 2026-11-22, one month
MIDDLE = dt.datetime(2026, 11, 12, 12, 15, tzinfo=dt.UTC)  # the generator prices mid-window
# OpenAI reports the dated snapshot of the alias the gateway logs (public model pages)
SNAPSHOT = {
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "o3-mini": "o3-mini-2025-01-31",
    "o4-mini": "o4-mini-2025-04-16",
}
OPENAI_COMPONENTS = {"input", "cached input", "output"}
ANTHROPIC_TOKEN_TYPES = {
    "uncached_input_tokens",
    "cache_read_input_tokens",
    "cache_creation.ephemeral_5m_input_tokens",
    "cache_creation.ephemeral_1h_input_tokens",
    "output_tokens",
}
PAGE_NAME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})_(\d{4}-\d{2}-\d{2})_pulled-\d{8}T\d{6}Z_page-(\d+)\.json$"
)
CAUSES = (
    "bypassed gateway",
    "batch or tier discount",
    "cache accounting",
    "price drift",
    "unpriced model",
)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("reports") / "data"
    generate(
        root,
        seed=21,
        events=12_000,
        days=DAYS,
        customers=10,
        start_date=START,
        traces_dir=root.parent / "no-traces-here",
        progress=False,
    )
    return root


def _pages(data: Path, provider: str, endpoint: str) -> list[tuple[Path, dict]]:
    folder = data / "landing" / "provider_reports" / provider / endpoint
    paths = sorted(folder.glob("*.json"), key=lambda p: int(PAGE_NAME.match(p.name).group(3)))
    return [(p, json.loads(p.read_text(encoding="utf-8"))) for p in paths]


def _results(data: Path, provider: str, endpoint: str) -> list[tuple[dt.date, dict]]:
    out = []
    for _, page in _pages(data, provider, endpoint):
        for bucket in page["data"]:
            out += [(_bucket_day(provider, bucket)[0], r) for r in bucket["results"]]
    return out


def _bucket_day(provider: str, bucket: dict) -> tuple[dt.date, dt.timedelta]:
    if provider == "openai":
        start = dt.datetime.fromtimestamp(bucket["start_time"], dt.UTC)
        end = dt.datetime.fromtimestamp(bucket["end_time"], dt.UTC)
    else:
        start = dt.datetime.fromisoformat(bucket["starting_at"].replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(bucket["ending_at"].replace("Z", "+00:00"))
    assert start.time() == dt.time(0) and start.tzinfo is not None
    return start.date(), end - start


def _json_type(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "number"
    return type(value).__name__


def _shape(value) -> object:
    """A result's keys and JSON types, nested objects included; null matches anything."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    return _json_type(value)


def _same_shape(ours, fixture, where: str) -> None:
    if isinstance(fixture, dict):
        assert isinstance(ours, dict) and set(ours) == set(fixture), where
        for key in fixture:
            _same_shape(ours[key], fixture[key], f"{where}.{key}")
    elif fixture == "NoneType" or ours == "NoneType":
        return
    elif {ours, fixture} <= {"int", "number"}:
        return  # a JSON number either way (OpenAI writes 0.3 and 1 alike)
    else:
        assert ours == fixture, (where, ours, fixture)


# -- shapes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("provider", "endpoint"), sorted(ENDPOINTS))
def test_pages_have_the_fixture_shapes(data: Path, provider: str, endpoint: str) -> None:
    fixture = json.loads(
        (
            FIXTURES
            / provider
            / endpoint
            / next(p.name for p in sorted((FIXTURES / provider / endpoint).glob("*page-1.json")))
        ).read_text()
    )
    pages = _pages(data, provider, endpoint)
    assert pages
    for path, page in pages:
        assert set(page) == set(fixture), path.name  # OpenAI's "object": "page", Anthropic none
        if provider == "openai":
            assert page["object"] == "page"
        assert isinstance(page["data"], list) and isinstance(page["has_more"], bool)
        assert page["next_page"] is None or isinstance(page["next_page"], str)
        for bucket in page["data"]:
            assert set(bucket) == set(fixture["data"][0])
            if provider == "openai":
                assert bucket["object"] == "bucket"
                assert isinstance(bucket["start_time"], int) and isinstance(bucket["end_time"], int)
            else:
                assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T00:00:00Z", bucket["starting_at"])
            assert _bucket_day(provider, bucket)[1] == dt.timedelta(days=1)
            for result in bucket["results"]:
                _same_shape(_shape(result), _shape(fixture["data"][0]["results"][0]), path.name)
                _check_values(provider, endpoint, result)


def _check_values(provider: str, endpoint: str, r: dict) -> None:
    if endpoint == "usage_completions":
        assert r["object"] == "organization.usage.completions.result"
        for key in ("input_tokens", "output_tokens", "num_model_requests", "input_cached_tokens"):
            assert isinstance(r[key], int) and r[key] >= 0
        assert r["input_cached_tokens"] <= r["input_tokens"] and r["num_model_requests"] > 0
        assert isinstance(r["batch"], bool) and isinstance(r["model"], str)
    elif endpoint == "costs":
        assert r["object"] == "organization.costs.result"
        assert _json_type(r["amount"]["value"]) in ("number", "int") and r["amount"]["value"] >= 0
        assert r["amount"]["currency"] == "usd"
        _, component = _line_item(r["line_item"])
        assert component in OPENAI_COMPONENTS
    elif endpoint == "usage_messages":
        for key in ("uncached_input_tokens", "cache_read_input_tokens", "output_tokens"):
            assert isinstance(r[key], int) and r[key] >= 0
        assert all(isinstance(v, int) and v >= 0 for v in r["cache_creation"].values())
        assert r["service_tier"] in ("standard", "batch") and r["context_window"] == "0-200k"
    else:
        assert isinstance(r["amount"], str) and re.fullmatch(r"\d+(\.\d+)?", r["amount"])
        assert r["currency"] == "USD" and r["cost_type"] == "tokens"
        assert r["token_type"] in ANTHROPIC_TOKEN_TYPES and r["service_tier"] in (
            "standard",
            "batch",
        )


def _line_item(text: str) -> tuple[str, str]:
    """As the decisions say: strip a "<tier> | " prefix, model before the last ", "."""
    if " | " in text:
        text = text.split(" | ", 1)[1]
    model, _, component = text.rpartition(", ")
    return model, component


@pytest.mark.parametrize(("provider", "endpoint"), sorted(ENDPOINTS))
def test_each_pull_is_a_complete_chain_of_pages(data: Path, provider: str, endpoint: str) -> None:
    pages = _pages(data, provider, endpoint)
    names = [PAGE_NAME.match(p.name) for p, _ in pages]
    assert [int(m.group(3)) for m in names] == list(range(1, len(pages) + 1))
    assert len({(m.group(1), m.group(2)) for m in names}) == 1  # one pull, one range
    first, end = (dt.date.fromisoformat(names[0].group(i)) for i in (1, 2))
    days = [_bucket_day(provider, b)[0] for _, page in pages for b in page["data"]]
    assert days == [first + dt.timedelta(days=i) for i in range((end - first).days)]
    assert first == START and end > START + dt.timedelta(days=DAYS - 1)
    cursors = [page["next_page"] for _, page in pages]
    for n, (_, page) in enumerate(pages, start=1):
        last = n == len(pages)
        assert page["has_more"] is not last and (page["next_page"] is None) is last
        assert len(page["data"]) == 7 or last
    assert len(set(cursors[:-1])) == len(pages) - 1


# -- against the usage events ------------------------------------------------------------------


@cache
def _unit(provider: str, model: str, tier: str) -> tuple[float, float, float, float]:
    """USD per token (uncached input, cache read, cache write, output) from genai-prices."""
    context = {"batch": {"processing": "batch"}, "flex": {"service_tier": "flex"}}.get(tier)
    context = context or ({"service_tier": "priority"} if tier == "priority" else None)
    n = 1000

    def price(**usage) -> float:
        return float(
            genai_prices.calc_price(
                genai_prices.Usage(**usage),
                model,
                provider_id=provider,
                genai_request_timestamp=MIDDLE,
                price_context=context,
            ).total_price
        )

    return (
        price(input_tokens=n) / n,
        price(input_tokens=n, cache_read_tokens=n) / n,
        price(input_tokens=n, cache_write_tokens=n) / n,
        price(output_tokens=n) / n,
    )


def _zero() -> dict:
    return {"requests": 0, "input": 0, "cached": 0, "write": 0, "output": 0, "batch_input": 0}


@pytest.fixture(scope="module")
def ours(data: Path) -> dict:
    """Per (provider, day, reported model name): what our valid final usage records carry, and
    their cost at genai-prices' prices, by tier."""
    records = final_records(data)
    books: dict = defaultdict(
        lambda: {"tokens": _zero(), "usd": 0.0, "standard_usd": 0.0, "tiers": defaultdict(_zero)}
    )
    for r in records.itertuples():
        provider = r.provider.lower()
        if provider not in ("openai", "anthropic"):
            continue
        tier = r.service_tier or "standard"
        prompt, cached, write, output = (
            0 if pd.isna(v) else int(v)
            for v in (
                r.prompt_tokens,
                r.cached_prompt_tokens,
                r.cache_write_tokens,
                r.completion_tokens,
            )
        )
        key = (provider, r.occurred_at.date(), SNAPSHOT.get(r.model, r.model))
        book = books[key]
        for target in (book["tokens"], book["tiers"][tier]):
            target["requests"] += 1
            target["input"] += prompt
            target["cached"] += cached
            target["write"] += write
            target["output"] += output
            target["batch_input"] += prompt if tier == "batch" else 0
        if resolve_pair(provider, r.model)["is_resolved"]:
            unit = _unit(provider, r.model, tier)
            usd = (prompt - cached - write) * unit[0] + cached * unit[1] + write * unit[2]
            usd += output * unit[3]
            book["usd"] += usd
            book["standard_usd"] += usd if tier == "standard" else 0.0
    return dict(books)


@pytest.fixture(scope="module")
def theirs(data: Path) -> dict:
    """Per (provider, day, model): what the pages say, tokens and USD."""
    books: dict = defaultdict(lambda: {"tokens": _zero(), "usd": 0.0})
    for day, r in _results(data, "openai", "usage_completions"):
        t = books[("openai", day, r["model"])]["tokens"]
        t["requests"] += r["num_model_requests"]
        t["input"] += r["input_tokens"]
        t["cached"] += r["input_cached_tokens"]
        t["output"] += r["output_tokens"]
        t["batch_input"] += r["input_tokens"] if r["batch"] else 0
    for day, r in _results(data, "openai", "costs"):
        books[("openai", day, _line_item(r["line_item"])[0])]["usd"] += r["amount"]["value"]
    for day, r in _results(data, "anthropic", "usage_messages"):
        t = books[("anthropic", day, r["model"])]["tokens"]
        write = sum(r["cache_creation"].values())
        total = r["uncached_input_tokens"] + write + r["cache_read_input_tokens"]
        t["input"] += total
        t["cached"] += r["cache_read_input_tokens"]
        t["write"] += write
        t["output"] += r["output_tokens"]
        t["batch_input"] += total if r["service_tier"] == "batch" else 0
    for day, r in _results(data, "anthropic", "cost_report"):
        books[("anthropic", day, r["model"])]["usd"] += float(r["amount"]) / 100
    return dict(books)


@pytest.fixture(scope="module")
def gaps(data: Path) -> dict:
    rows = pq.read_table(data / "truth" / "provider_report_gaps.parquet").to_pylist()
    return {(r["provider"], r["day"], r["model"]): r for r in rows}


def _tokens_without_requests(t: dict, provider: str) -> dict:
    return t if provider == "openai" else {k: v for k, v in t.items() if k != "requests"}


def test_the_truth_covers_every_reported_and_every_logged_model_day(ours, theirs, gaps):
    assert set(theirs) <= set(gaps) and set(ours) <= set(gaps)


def test_unplanted_days_report_what_our_events_carry_plus_the_calls_we_lost(ours, theirs, gaps):
    clean = lossy = 0
    for key, row in gaps.items():
        if row["planted"] is not None:
            continue
        provider = key[0]
        mine, reported = ours.get(key), theirs[key]
        if row["quarantined_calls"] == 0 and row["open_stream_calls"] == 0:
            clean += 1
            assert _tokens_without_requests(reported["tokens"], provider) == (
                _tokens_without_requests(mine["tokens"], provider)
            ), key
            assert reported["usd"] == pytest.approx(mine["usd"], rel=1e-7, abs=1e-8), key
        else:  # the provider billed the calls whose records we lost: more, never less
            lossy += 1
            for column, value in _tokens_without_requests(reported["tokens"], provider).items():
                assert value >= (mine["tokens"][column] if mine else 0), (key, column)
            if provider == "openai":
                lost = row["quarantined_calls"] + row["open_stream_calls"]
                assert reported["tokens"]["requests"] - mine["tokens"]["requests"] == lost
    assert clean > 100 and lossy > 0


def _planted(gaps: dict, cause: str) -> list[tuple]:
    rows = [k for k, r in gaps.items() if r["planted"] == cause]
    return rows


def test_every_cause_is_planted_for_each_provider(gaps):
    for provider in ("openai", "anthropic"):
        planted = {r["planted"] for k, r in gaps.items() if k[0] == provider}
        assert planted - {None} == set(CAUSES), provider
    per_day = defaultdict(list)
    for key, row in gaps.items():
        if row["planted"]:
            per_day[key[:2]].append(row["planted"])
    assert all(len(v) == 1 for v in per_day.values())  # one plant per provider and day


def _clean(gaps: dict, key: tuple) -> bool:
    return gaps[key]["quarantined_calls"] == 0 and gaps[key]["open_stream_calls"] == 0


def test_bypassed_gateway_adds_eight_percent_of_requests_tokens_and_cost(ours, theirs, gaps):
    checked = 0
    for key in _planted(gaps, "bypassed gateway"):
        mine, reported = ours[key], theirs[key]
        for column, value in mine["tokens"].items():
            if column == "requests" and key[0] == "anthropic":
                continue
            assert reported["tokens"][column] >= value
        if _clean(gaps, key):
            checked += 1
            for column, value in mine["tokens"].items():
                if column != "requests" or key[0] == "openai":
                    assert reported["tokens"][column] == pytest.approx(value * 1.08, abs=4)
            assert reported["usd"] == pytest.approx(mine["usd"] * 1.08, rel=1e-6)
    assert checked


def test_price_drift_charges_five_percent_more_for_the_same_tokens(ours, theirs, gaps):
    checked = 0
    for key in _planted(gaps, "price drift"):
        if _clean(gaps, key):
            checked += 1
            assert _tokens_without_requests(theirs[key]["tokens"], key[0]) == (
                _tokens_without_requests(ours[key]["tokens"], key[0])
            )
            assert theirs[key]["usd"] == pytest.approx(ours[key]["usd"] * 1.05, rel=1e-6)
    assert checked


def test_plants_sit_on_the_days_largest_model(ours, gaps):
    for cause in CAUSES[:4]:
        for provider, day, model in _planted(gaps, cause):
            others = [v["usd"] for k, v in ours.items() if k[:2] == (provider, day)]
            # the provider's books rank the models; ours lack the few calls we lost
            assert ours[(provider, day, model)]["usd"] >= 0.9 * max(others), (cause, day, model)


def test_batch_discount_reports_a_fifth_of_standard_traffic_as_batch_at_half_price(
    ours, theirs, gaps
):
    checked = 0
    for key in _planted(gaps, "batch or tier discount"):
        mine, reported = ours[key], theirs[key]
        standard_input = mine["tiers"]["standard"]["input"]
        moved = reported["tokens"]["batch_input"] - mine["tokens"]["batch_input"]
        assert moved > 0.01 * mine["tokens"]["input"]  # clears the 1 % tolerance
        assert reported["usd"] < mine["usd"] or not _clean(gaps, key)
        if _clean(gaps, key):
            checked += 1
            assert reported["tokens"]["input"] == mine["tokens"]["input"]
            assert moved == pytest.approx(0.2 * standard_input, abs=3)
            assert reported["usd"] == pytest.approx(
                mine["usd"] - 0.5 * 0.2 * mine["standard_usd"], rel=1e-3
            )
    assert checked


def test_cache_accounting_moves_a_fifth_of_uncached_input_to_cache_reads(ours, theirs, gaps):
    checked = 0
    for key in _planted(gaps, "cache accounting"):
        mine, reported = ours[key], theirs[key]
        uncached = mine["tokens"]["input"] - mine["tokens"]["cached"] - mine["tokens"]["write"]
        if _clean(gaps, key):
            checked += 1
            assert reported["tokens"]["input"] == mine["tokens"]["input"]
            assert reported["tokens"]["output"] == mine["tokens"]["output"]
            extra = reported["tokens"]["cached"] - mine["tokens"]["cached"]
            assert extra == pytest.approx(0.2 * uncached, abs=4)
            assert extra > 0.01 * mine["tokens"]["input"]
            assert reported["usd"] < mine["usd"] * 0.99  # cache reads are cheaper
    assert checked


def test_unpriced_model_is_in_the_report_and_in_our_events_and_nowhere_priced(ours, theirs, gaps):
    keys = _planted(gaps, "unpriced model")
    assert keys
    for provider, day, model in keys:
        assert not resolve_pair(provider, model)["is_resolved"], model
        mine, reported = ours[(provider, day, model)], theirs[(provider, day, model)]
        assert mine["tokens"]["requests"] > 0 and mine["usd"] == 0  # we log it, cannot price it
        assert reported["usd"] > 0.01
        if provider == "openai":
            assert reported["tokens"]["requests"] >= mine["tokens"]["requests"]
        logged_on = {k[1] for k in ours if k[0] == provider and k[2] == model}
        assert all(gaps[(provider, d, model)]["planted"] == "unpriced model" for d in logged_on)


# -- invoices -----------------------------------------------------------------------------------


def test_invoices_bill_the_month_of_the_daily_reports(data: Path, theirs: dict) -> None:
    costs = pq.read_table(data / "truth" / "provider_costs.parquet").to_pylist()
    plant = {(c["provider"], c["invoice_month"]): c["planted"] for c in costs}
    factor = {None: 1.0, "unpriced_model": 1.0, "price_drift": 1.04, "missing_events": 1.06}
    for provider in ("openai", "anthropic"):
        month = "2026-11"
        with open(data / "landing" / "provider_invoices" / f"{provider}-{month}.csv") as fh:
            lines = list(csv.DictReader(fh))
        reported: dict[str, float] = defaultdict(float)
        for (p, _, model), book in theirs.items():
            if p == provider:
                reported[model] += book["usd"]
        for line in lines:
            if line["model"].endswith("-private-preview"):
                assert plant[(provider, month)] == "unpriced_model"
                continue
            name = SNAPSHOT.get(line["model"], line["model"])
            expected = reported.pop(name) * factor[plant[(provider, month)]]
            assert float(line["amount_usd"]) == pytest.approx(expected, abs=0.006), line
        assert not reported  # every reported model is billed


def test_the_quarantined_calls_of_the_truth_are_planted_malformed_records(data: Path, gaps):
    events = pq.read_table(data / "truth" / "events.parquet").to_pylist()
    victims: dict[dt.date, list[str]] = defaultdict(list)
    for e in events:
        if e["kind"] == "malformed" and e["event_id"] is not None:
            victims[e["occurred_at"].date()].append(e["fault"])
    lost_calls: dict[dt.date, int] = defaultdict(int)
    for (_, day, _), row in gaps.items():
        lost_calls[day] += row["quarantined_calls"]
        named = set((row["quarantined_faults"] or "").split(",")) - {""}
        assert len(named) <= row["quarantined_calls"] and bool(named) == bool(
            row["quarantined_calls"]
        )
        assert named <= set(victims[day]), (day, named)
    assert sum(lost_calls.values()) > 0
    assert all(n <= len(victims[day]) for day, n in lost_calls.items())
