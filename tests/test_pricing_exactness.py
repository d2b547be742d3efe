"""Every call's cost equals genai_prices.calc_price for the same provider, model, usage, timestamp
and service tier, to 1e-9 USD, on calls built to exercise every pricing feature of the catalog."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import duckdb
import pytest
from genai_prices import Usage, calc_price, data_snapshot, types

from orchestration import cli
from orchestration.paths import PROJECT_ROOT, DataPaths

CONTEXT = {
    "batch": {"processing": "batch"},
    "flex": {"service_tier": "flex"},
    "priority": {"service_tier": "priority"},
}


def _model(provider_id: str, model_id: str) -> types.ModelInfo:
    provider = next(p for p in data_snapshot.get_snapshot().providers if p.id == provider_id)
    return next(m for m in provider.models if m.id == model_id)


def _conditionals(model: types.ModelInfo) -> list:
    return [] if isinstance(model.prices, types.ModelPrice) else model.prices


def _models_with(
    predicate, providers=("openai", "anthropic", "google", "deepseek", "mistral", "x-ai")
):
    """Models with the property whose own id resolves back to them (a few ids are not aliases)."""
    snapshot = data_snapshot.get_snapshot()
    out = []
    for provider in snapshot.providers:
        if provider.id in providers:
            for model in provider.models:
                if (
                    predicate(model)
                    and _prices_tokens(model)
                    and _resolves_to_itself(snapshot, provider.id, model)
                ):
                    out.append((provider.id, model.id))
    return out


def _prices_tokens(model: types.ModelInfo) -> bool:
    """Token-priced in every period (page- or search-priced models are not token-priced calls)."""
    sets = (
        [model.prices]
        if isinstance(model.prices, types.ModelPrice)
        else [c.prices for c in model.prices]
    )
    return all(
        getattr(p, "input_mtok", None) is not None or getattr(p, "output_mtok", None) is not None
        for p in sets
    )


def _resolves_to_itself(snapshot, provider_id: str, model: types.ModelInfo) -> bool:
    try:
        return snapshot.find_provider_model(model.id, None, provider_id, None)[1] is model
    except LookupError:
        return False


def _start_dates(model) -> list[date]:
    return [
        c.constraint.start_date
        for c in _conditionals(model)
        if isinstance(c.constraint, types.StartDateConstraint)
    ]


def _variant_models(key, value):
    return _models_with(lambda m: any(v.when == {key: value} for v in m.price_variants or ()))


# The worked examples of docs/pricing.md: (provider, model, UTC time, tier, usage, documented cost).
DOCUMENTED = [
    (
        "anthropic",
        "claude-sonnet-4-20250514",
        "2026-11-10T12:00:00",
        None,
        (10_000, 8_000, 1_000, 500, 0),
        "0.01665",
    ),
    ("openai", "gpt-4o", "2026-11-10T12:00:00", None, (10_000, 8_000, 1_000, 500, 0), "0.020"),
    (
        "perplexity",
        "sonar-deep-research",
        "2026-11-10T12:00:00",
        None,
        (1_000, 0, 0, 5_000, 4_000),
        "0.022",
    ),
    ("google", "gemini-2.5-pro", "2026-11-10T12:00:00", None, (200_000, 0, 0, 1_000, 0), "0.260"),
    (
        "google",
        "gemini-2.5-pro",
        "2026-11-10T12:00:00",
        None,
        (200_001, 0, 0, 1_000, 0),
        "0.5150025",
    ),
    (
        "deepseek",
        "deepseek-chat",
        "2026-11-10T00:10:00",
        None,
        (100_000, 0, 0, 10_000, 0),
        "0.0190",
    ),
    ("deepseek", "deepseek-chat", "2026-11-10T12:00:00", None, (100_000, 0, 0, 10_000, 0), "0.038"),
    ("openai", "gpt-4o", "2026-11-10T12:00:00", "batch", (100_000, 0, 0, 10_000, 0), "0.175"),
    ("openai", "gpt-4o", "2026-10-01T00:00:00", "batch", (100_000, 0, 0, 10_000, 0), "0.35"),
    ("perplexity", "sonar", "2026-11-10T12:00:00", None, (1_000, 0, 0, 1_000, 0), "0.014"),
]


def build_calls(rng: random.Random) -> list[tuple[str, dict]]:
    """(feature, event) pairs covering every pricing feature."""
    base_day = datetime(2026, 11, 1, tzinfo=UTC)
    calls: list[tuple[str, dict]] = []

    def add(
        feature,
        provider,
        model,
        *,
        at=None,
        tier=None,
        prompt=None,
        cached=0,
        cache_write=0,
        completion=None,
        reasoning=0,
    ):
        prompt = prompt if prompt is not None else rng.randint(50, 40_000)
        cached = min(cached, prompt)
        cache_write = min(cache_write, prompt - cached)
        completion = completion if completion is not None else rng.randint(1, 4_000)
        calls.append(
            (
                feature,
                {
                    "event_id": f"px-{len(calls):05d}",
                    "occurred_at": (at or base_day).isoformat(),
                    "customer_id": "cus-x",
                    "workspace_id": "ws-x",
                    "feature": feature,
                    "provider": provider,
                    "model": model,
                    "service_tier": tier,
                    "prompt_tokens": prompt,
                    "cached_prompt_tokens": cached,
                    "cache_write_tokens": cache_write,
                    "completion_tokens": completion,
                    "reasoning_tokens": min(reasoning, completion),
                    "status": "success",
                },
            )
        )

    for _ in range(150):  # cache reads and writes, billed once at their own price or their parent's
        provider, model = rng.choice(
            [
                ("anthropic", "claude-sonnet-4-0"),
                ("anthropic", "claude-3-5-haiku-latest"),
                ("openai", "gpt-4o"),
                ("deepseek", "deepseek-chat"),
                ("google", "gemini-2.5-flash"),
            ]
        )
        prompt = rng.randint(1_000, 60_000)
        add(
            "cache_read_write",
            provider,
            model,
            prompt=prompt,
            cached=rng.randint(0, prompt),
            cache_write=rng.choice([0, rng.randint(0, prompt // 3)]),
        )
    tiered = _models_with(
        lambda m: any(
            isinstance(v, types.TieredPrices)
            for p in (
                [m.prices]
                if isinstance(m.prices, types.ModelPrice)
                else [c.prices for c in m.prices]
            )
            for v in p.__dict__.values()
        )
    )
    for i in range(150):  # long-context cliff tiers, at, just above and far above the threshold
        provider, model = tiered[i % len(tiered)]
        prompt = rng.choice(
            [199_999, 200_000, 200_001, 128_000, 128_001, 272_001, rng.randint(150_000, 900_000)]
        )
        add("long_context_tier", provider, model, prompt=prompt, cached=rng.randint(0, prompt // 2))
    for i in range(150):  # DeepSeek-style time-of-day windows, boundaries included
        moment = rng.choice(
            [
                time(0, 29, 59, 999000),
                time(0, 30),
                time(16, 29, 59),
                time(16, 30),
                time(rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)),
            ]
        )
        add(
            "time_of_day",
            "deepseek",
            rng.choice(["deepseek-chat", "deepseek-reasoner"]),
            at=datetime.combine(base_day.date() - timedelta(days=i % 20), moment, UTC),
        )
    dated = [pm for pm in _models_with(lambda m: bool(_start_dates(m)))]
    for i in range(200):  # price changes by start date: the day before, the day of, the day after
        provider, model = dated[i % len(dated)]
        start = rng.choice(_start_dates(_model(provider, model)))
        day = start + timedelta(days=rng.choice([-1, 0, 1, 30]))
        at = datetime.combine(min(day, date(2026, 11, 28)), time(rng.randint(0, 23), 15), UTC)
        add("start_date", provider, model, at=at)
    for tier_name, key, value in (
        ("batch", "processing", "batch"),
        ("flex", "service_tier", "flex"),
        ("priority", "service_tier", "priority"),
    ):
        models = _variant_models(key, value)
        for i in range(120):
            provider, model = models[i % len(models)]
            at = base_day - timedelta(days=rng.choice([0, 10, 30, 60, 400]))
            add(
                f"service_tier_{tier_name}",
                provider,
                model,
                at=at,
                tier=tier_name,
                cached=rng.randint(0, 5_000),
            )
    for _ in range(60):  # separately priced reasoning tokens
        completion = rng.randint(100, 20_000)
        add(
            "reasoning",
            "perplexity",
            "sonar-deep-research",
            completion=completion,
            reasoning=rng.randint(0, completion),
        )
    for _ in range(60):  # a per-request fee
        add("request_fee", "perplexity", rng.choice(["sonar", "sonar-pro", "sonar-reasoning-pro"]))
    for provider, model, at, tier, (
        prompt,
        cached,
        written,
        completion,
        reasoning,
    ), _ in DOCUMENTED:
        add(
            "documented_example",
            provider,
            model,
            at=datetime.fromisoformat(at + "+00:00"),
            tier=tier,
            prompt=prompt,
            cached=cached,
            cache_write=written,
            completion=completion,
            reasoning=reasoning,
        )
    for _ in range(40):  # a model served by a fallback provider: context does not apply
        add(
            "fallback_provider",
            "google",
            "claude-sonnet-4-0",
            tier=rng.choice([None, "batch"]),
            cached=rng.randint(0, 500),
        )
    return calls


@pytest.fixture(scope="module")
def priced(tmp_path_factory, request):
    root = tmp_path_factory.mktemp("pricing") / "data"
    mp = pytest.MonkeyPatch()
    request.addfinalizer(mp.undo)
    mp.setenv("LLM_MARGIN_DATA_DIR", str(root))
    paths = DataPaths(root).ensure()
    calls = build_calls(random.Random(20261129))
    unknown = {
        "event_id": "px-unknown",
        "occurred_at": "2026-11-01T00:00:00Z",
        "customer_id": "cus-x",
        "workspace_id": "ws-x",
        "feature": "unknown_model",
        "provider": "acme",
        "model": "mystery-1",
        "prompt_tokens": 10,
        "completion_tokens": 5,
    }
    lines = [json.dumps(event) for _, event in calls] + [json.dumps(unknown)]
    (paths.landing_for("usage_events") / "pricing-features.jsonl").write_text(
        "\n".join(lines) + "\n"
    )
    assert cli.main(["materialize", "--log-level", "WARNING"]) == 0
    return paths, calls


def test_cost_equals_calc_price_for_every_pricing_feature(priced, capsys):
    paths, calls = priced
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        costs = dict(
            con.execute(
                "select event_id, cost_usd from marts.fct_llm_calls where is_priced"
            ).fetchall()
        )
    per_feature, mismatches = Counter(), []
    for feature, event in calls:
        usage = Usage(
            input_tokens=event["prompt_tokens"],
            cache_read_tokens=event["cached_prompt_tokens"],
            cache_write_tokens=event["cache_write_tokens"],
            output_tokens=event["completion_tokens"],
            output_reasoning_tokens=event["reasoning_tokens"],
        )
        expected = calc_price(
            usage,
            event["model"],
            provider_id=event["provider"],
            genai_request_timestamp=datetime.fromisoformat(event["occurred_at"]),
            price_context=CONTEXT.get(event["service_tier"]),
        ).total_price
        actual = costs.get(event["event_id"])
        per_feature[feature] += 1
        if actual is None or abs(Decimal(actual) - expected) > Decimal("1e-9"):
            mismatches.append((feature, event, actual, expected))
    with capsys.disabled():
        print("\npricing exactness, calls per feature:", dict(sorted(per_feature.items())))
    assert len(calls) >= 1000
    assert all(
        count >= 40 for feature, count in per_feature.items() if feature != "documented_example"
    )
    assert not mismatches, mismatches[:5]


def test_an_unknown_model_is_unpriced_not_free(priced):
    paths, _ = priced
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        row = con.execute(
            "select is_priced, unpriced_reason, cost_usd from marts.fct_llm_calls "
            "where event_id = 'px-unknown'"
        ).fetchall()
        listed = con.execute(
            "select calls from marts.mart_unpriced_usage where provider = 'acme' "
            "and model = 'mystery-1'"
        ).fetchall()
    assert row == [(False, "unresolved_model", None)]
    assert listed == [(1,)]


def test_the_worked_examples_of_the_pricing_docs_hold(priced):
    paths, calls = priced
    examples = [event for feature, event in calls if feature == "documented_example"]
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        costs = dict(con.execute("select event_id, cost_usd from marts.fct_llm_calls").fetchall())
    doc = (PROJECT_ROOT / "docs" / "pricing.md").read_text()
    for event, (*_, documented) in zip(examples, DOCUMENTED, strict=True):
        assert costs[event["event_id"]] == Decimal(documented), event
        assert f"**${documented}**" in doc
