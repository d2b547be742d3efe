"""What-if repricing through the one pricing path (docs/pricing.md "What-if pricing").

Hand-made calls and hand-made price rules, with expected costs computed here from the prices
written into the rules: a batch discount, a cache-hit-rate assumption, a long-context tier crossed
because of the token ratio (rounded half-up), an unpriced candidate (counted, never $0), and the
most specific rule winning. Then the identity: on the shared sample warehouse, a scenario that
keeps every call as observed, priced at call time, costs exactly what the calls cost.

The what-if models are built alone (``dbt run --select``; their data tests run in every full build) over a warehouse whose upstream
relations exist: for the hand-made cases, tables written here with only the columns the what-if
models read; for the identity, a copy of the shared build's warehouse.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.dbt.project import dbt_executable
from orchestration.paths import DATA_DIR_ENV, PROJECT_ROOT, DataPaths

WHATIF_MODELS = [
    "stg_scenarios__rules",
    "int_whatif_scenarios",
    "int_whatif_calls",
    "int_whatif_cases_priced",
    "int_whatif_calls_priced",
    "mart_whatif_feature_route",
    "mart_whatif_plan_margin",
]

# the columns and types of the scenario rules file (the interface the scenario loader writes)
RULE_COLUMNS = {
    "scenario_id": "varchar",
    "scenario_file": "varchar",
    "rule_index": "integer",
    "rule_line": "integer",
    "match_feature": "varchar",
    "match_route": "varchar",
    "candidate_provider": "varchar",
    "candidate_model": "varchar",
    "candidate_service_tier": "varchar",
    "cache_hit_rate": "double",
    "token_ratio": "double",
    "period_start": "date",
    "period_end": "date",
    "price_basis": "varchar",
    "price_date": "date",
    "assumptions": "varchar",
}


def rule(scenario: str, index: int, **fields) -> dict:
    return {
        "scenario_id": scenario,
        "scenario_file": f"scenarios/{scenario}.yaml",
        "rule_index": index,
        "rule_line": 2 + 5 * index,
        "candidate_service_tier": "observed",
        "token_ratio": 1.0,
        "price_basis": "date",
        "price_date": date(2026, 11, 15),
        "period_start": date(2026, 11, 1),
        "period_end": date(2026, 12, 1),
        "assumptions": f"{scenario} rule {index}",
        **fields,
    }


def write_scenario_rules(data: DataPaths, rules: list[dict]) -> None:
    folder = data.lake / "scenarios"
    folder.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        typed = ", ".join(f"cast(null as {t}) as {c}" for c, t in RULE_COLUMNS.items())
        con.execute(f"create table rules as select {typed} where false")
        for row in rules:
            values = [row.get(c) for c in RULE_COLUMNS]
            con.execute(f"insert into rules values ({', '.join('?' * len(values))})", values)
        con.execute(f"copy rules to '{folder / 'scenario_rules.parquet'}' (format parquet)")


def build_whatif(data: DataPaths, tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir(exist_ok=True)
    cached_parse = PROJECT_ROOT / "target" / "partial_parse.msgpack"
    if cached_parse.exists():
        shutil.copy(cached_parse, target / "partial_parse.msgpack")
    result = subprocess.run(
        [dbt_executable(), "run", "--select", *WHATIF_MODELS, "--quiet",
         "--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT),
         "--target", "duckdb", "--target-path", str(target),
         "--log-path", str(tmp_path / "logs")],
        env={**os.environ, DATA_DIR_ENV: str(data.root)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]


# ---------------------------------------------------------------------------------------------
# hand-made calls and price rules

# USD per million tokens, written into the rules below and used for the expected costs
SMALL = {"input": Decimal("1.0"), "output": Decimal("2.0")}
BIG = {
    "input": Decimal("2.0"),
    "input_above_200k": Decimal("4.0"),  # a long-context tier: all input tokens, above 200,000
    "cache_read": Decimal("0.5"),
    "output": Decimal("8.0"),
    "batch_input": Decimal("1.0"),
    "batch_output": Decimal("4.0"),
}
M = Decimal(1_000_000)

CALLS = [
    # event_id, feature, route, model, occurred_at, prompt, cached, completion
    ("c-chat", "chat", "r-chat", "small", "2026-11-10 12:00:00", 100_000, 0, 10_000),
    ("c-code", "code", "r-code", "small", "2026-11-11 08:30:00", 150_000, 0, 1_000),
    ("c-odd", "odd", "r-odd", "small", "2026-11-12 23:59:59", 1_001, 0, 101),
    (
        "c-early",
        "chat",
        "r-chat",
        "small",
        "2026-10-20 12:00:00",
        5_000,
        0,
        500,
    ),  # before the period
]


def _price_rule(model: str, price_key: str, usage_key: str, usd: Decimal, **extra) -> dict:
    return {
        "price_state": "current",
        "provider_id": "o",
        "model_id": model,
        "price_source": "genai-prices",
        "source_priority": 3,
        "export_version": "hand-made",
        "load_sequence": 1,
        "rule_kind": "standard",
        "rule_rank": 0,
        "context_key": None,
        "context_value": None,
        "valid_from": None,
        "valid_to": None,
        "tod_start_second": None,
        "tod_end_second": None,
        "price_key": price_key,
        "usage_key": usage_key,
        "unit_per": 1_000_000,
        "tier_start": None,
        "usd_per_unit": usd,
        **extra,
    }


PRICE_RULES = [
    _price_rule("small", "input_mtok", "input_tokens", SMALL["input"]),
    _price_rule("small", "output_mtok", "output_tokens", SMALL["output"]),
    _price_rule("big", "input_mtok", "input_tokens", BIG["input"]),
    _price_rule("big", "input_mtok", "input_tokens", BIG["input_above_200k"], tier_start=200_000),
    _price_rule("big", "cache_read_mtok", "cache_read_tokens", BIG["cache_read"]),
    _price_rule("big", "output_mtok", "output_tokens", BIG["output"]),
    _price_rule(
        "big", "input_mtok", "input_tokens", BIG["batch_input"],
        rule_kind="variant", context_key="processing", context_value="batch",
    ),
    _price_rule(
        "big", "output_mtok", "output_tokens", BIG["batch_output"],
        rule_kind="variant", context_key="processing", context_value="batch",
    ),
]  # fmt: skip


def _table(con, name: str, rows: list[dict], types: dict[str, str]) -> None:
    typed = ", ".join(f"cast(null as {t}) as {c}" for c, t in types.items())
    con.execute(f"create table {name} as select {typed} where false")
    for row in rows:
        values = [row.get(c) for c in types]
        con.execute(f"insert into {name} values ({', '.join('?' * len(values))})", values)


def hand_made_warehouse(data: DataPaths, price_rules: list[dict] = PRICE_RULES) -> None:
    """The relations the what-if models read, holding only the hand-made calls and rules."""
    data.ensure()
    with duckdb.connect(str(data.warehouse)) as con:
        for schema in ("staging", "intermediate", "marts"):
            con.execute(f"create schema {schema}")
        events = [
            {
                "event_id": e, "occurred_at": at, "event_date": at[:10], "route": route,
                "provider": "o", "model": model, "service_tier": None, "prompt_tokens": prompt,
                "cached_prompt_tokens": cached, "cache_write_tokens": 0,
                "completion_tokens": completion, "reasoning_tokens": 0,
            }
            for e, _, route, model, at, prompt, cached, completion in CALLS
        ]  # fmt: skip
        _table(con, "staging.stg_usage__events", events, {
            "event_id": "varchar", "occurred_at": "timestamp", "event_date": "date",
            "route": "varchar", "provider": "varchar", "model": "varchar",
            "service_tier": "varchar", "prompt_tokens": "bigint",
            "cached_prompt_tokens": "bigint", "cache_write_tokens": "bigint",
            "completion_tokens": "bigint", "reasoning_tokens": "bigint",
        })  # fmt: skip
        attempts = [
            {"event_id": e, "event_date": at[:10], "task_id": f"t-{e}", "is_last_attempt": True,
             "customer_id": "cus-1", "feature": feature}
            for e, feature, _, _, at, *_ in CALLS
        ]  # fmt: skip
        _table(con, "intermediate.int_attempts_chained_to_tasks", attempts, {
            "event_id": "varchar", "event_date": "date", "task_id": "varchar",
            "is_last_attempt": "boolean", "customer_id": "varchar", "feature": "varchar",
        })  # fmt: skip
        # the actual cost rides along from int_llm_calls_priced: a marker value per call
        priced = [
            {"event_id": e, "event_date": at[:10], "price_state": "current",
             "cost_usd": Decimal("0.001") * (i + 1)}
            for i, (e, _, _, _, at, *_) in enumerate(CALLS)
        ]  # fmt: skip
        _table(con, "intermediate.int_llm_calls_priced", priced, {
            "event_id": "varchar", "event_date": "date", "price_state": "varchar",
            "cost_usd": "decimal(24, 12)", "unpriced_reason": "varchar",
        })  # fmt: skip
        resolutions = [
            {"raw_provider": "o", "raw_model": m, "price_provider_id": "o", "price_model_id": m,
             "is_resolved": True, "is_context_priced": True}
            for m in ("small", "big")
        ]  # fmt: skip
        _table(con, "staging.stg_pricing__model_resolutions", resolutions, {
            "raw_provider": "varchar", "raw_model": "varchar", "price_provider_id": "varchar",
            "price_model_id": "varchar", "is_resolved": "boolean", "is_context_priced": "boolean",
        })  # fmt: skip
        _table(con, "intermediate.int_price_rules_by_state", price_rules, {
            "price_state": "varchar", "provider_id": "varchar", "model_id": "varchar",
            "price_source": "varchar", "source_priority": "integer", "export_version": "varchar",
            "load_sequence": "bigint", "rule_kind": "varchar", "rule_rank": "integer",
            "context_key": "varchar", "context_value": "varchar", "valid_from": "date",
            "valid_to": "date", "tod_start_second": "integer", "tod_end_second": "integer",
            "price_key": "varchar", "usage_key": "varchar", "unit_per": "bigint",
            "tier_start": "bigint", "usd_per_unit": "decimal(18, 9)",
        })  # fmt: skip
        tasks = [{"task_id": f"t-{e}", "is_successful": True} for e, *_ in CALLS]
        _table(con, "marts.fct_tasks", tasks, {"task_id": "varchar", "is_successful": "boolean"})
        margin = [
            {"customer_id": "cus-1", "month": "2026-11-01", "plan_id": "pro",
             "revenue_usd": Decimal("10")},
        ]  # fmt: skip
        _table(con, "marts.mart_customer_monthly_margin", margin, {
            "customer_id": "varchar", "month": "date", "plan_id": "varchar",
            "revenue_usd": "decimal(24, 12)",
        })  # fmt: skip


SCENARIOS = [
    # a batch discount on a bigger model for chat
    rule("batch", 1, match_feature="chat", candidate_provider="o", candidate_model="big",
         candidate_service_tier="batch"),
    # a quarter of the prompt read from cache
    rule("cache", 1, match_feature="chat", candidate_provider="o", candidate_model="big",
         candidate_service_tier="standard", cache_hit_rate=0.25),
    # 1.5x the tokens: code's 150,000 prompt tokens become 225,000, above the 200,000 tier;
    # odd's 1,001 become 1,501.5, rounded half-up to 1,502
    rule("tokenizer", 1, match_feature="code", candidate_provider="o", candidate_model="big",
         token_ratio=1.5),
    rule("tokenizer", 2, match_feature="odd", candidate_provider="o", candidate_model="big",
         token_ratio=1.5),
    # a candidate no price list knows; and the most specific rule wins (feature + route over feature)
    rule("unknown", 1, match_feature="chat", candidate_provider="o", candidate_model="big"),
    rule("unknown", 2, match_feature="chat", match_route="r-chat", candidate_provider="acme",
         candidate_model="mystery-9"),
]  # fmt: skip


def cost(prompt: int, completion: int, prices: dict, *, cached: int = 0, input_key="input",
         output_key="output") -> Decimal:  # fmt: skip
    cache = Decimal(cached) * prices["cache_read"] / M if cached else Decimal(0)
    return (
        Decimal(prompt - cached) * prices[input_key] / M
        + cache
        + Decimal(completion) * prices[output_key] / M
    )


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory) -> DataPaths:
    tmp = tmp_path_factory.mktemp("whatif_hand_made")
    data = DataPaths(tmp / "data")
    hand_made_warehouse(data)
    write_scenario_rules(data, SCENARIOS)
    build_whatif(data, tmp)
    return data


def _scenario_costs(data: DataPaths) -> dict[tuple[str, str], tuple]:
    with duckdb.connect(str(data.warehouse), read_only=True) as con:
        rows = con.execute(
            "select scenario_id, event_id, scenario_cost_usd, scenario_unpriced_reason, rule_index "
            "from intermediate.int_whatif_calls_priced"
        ).fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


def test_a_batch_discount_prices_the_candidate_on_its_batch_variant(hand_made):
    costs = _scenario_costs(hand_made)
    expected = cost(100_000, 10_000, BIG, input_key="batch_input", output_key="batch_output")
    assert expected == Decimal("0.14")  # 100k x $1 + 10k x $4 per million
    assert costs[("batch", "c-chat")][0] == expected


def test_a_cache_hit_rate_moves_that_share_of_the_prompt_to_the_cache_price(hand_made):
    costs = _scenario_costs(hand_made)
    expected = cost(100_000, 10_000, BIG, cached=25_000)  # round(100,000 x 0.25)
    assert costs[("cache", "c-chat")][0] == expected == Decimal("0.2425")


def test_a_token_ratio_crossing_a_long_context_tier_prices_every_input_token_at_the_tier(
    hand_made,
):
    costs = _scenario_costs(hand_made)
    crossed = cost(225_000, 1_500, BIG, input_key="input_above_200k")
    assert costs[("tokenizer", "c-code")][0] == crossed == Decimal("0.912")
    # half-up: 1,001 x 1.5 = 1,501.5 -> 1,502 and 101 x 1.5 = 151.5 -> 152
    assert costs[("tokenizer", "c-odd")][0] == cost(1_502, 152, BIG)
    # calls no rule of the scenario matches are replayed as observed, on the scenario's price date
    assert costs[("tokenizer", "c-chat")][0] == cost(100_000, 10_000, SMALL)


def test_an_unpriced_candidate_is_counted_never_zero_and_the_most_specific_rule_wins(hand_made):
    costs = _scenario_costs(hand_made)
    assert costs[("unknown", "c-chat")] == (None, "unresolved_model", 2)
    with duckdb.connect(str(hand_made.warehouse), read_only=True) as con:
        row = con.execute(
            "select calls, scenario_cost_usd, scenario_unpriced_calls, scenario_unpriced_reasons, "
            "actual_cost_usd, candidate_model from marts.mart_whatif_feature_route "
            "where scenario_id = 'unknown' and feature = 'chat'"
        ).fetchall()
    # c-early is before the period: one chat call, its actual cost the marker 0.001
    assert row == [(1, None, 1, "unresolved_model", Decimal("0.001"), "mystery-9")]


def test_the_plan_margin_compares_revenue_with_both_costs(hand_made):
    with duckdb.connect(str(hand_made.warehouse), read_only=True) as con:
        row = con.execute(
            "select customers, revenue_usd, actual_ai_cost_usd, scenario_ai_cost_usd, "
            "scenario_gross_margin_usd, scenario_unpriced_calls "
            "from marts.mart_whatif_plan_margin where scenario_id = 'batch'"
        ).fetchall()
    # the three November calls: actual markers 0.001 + 0.002 + 0.003
    scenario = (
        cost(100_000, 10_000, BIG, input_key="batch_input", output_key="batch_output")
        + cost(150_000, 1_000, SMALL)
        + cost(1_001, 101, SMALL)
    )
    assert row == [(1, Decimal(10), Decimal("0.006"), scenario, Decimal(10) - scenario, 0)]


def test_today_is_the_first_day_of_the_prices_in_force_today(hand_made, tmp_path):
    """`today` prices at the latest day on or before the build date on which a price rule
    started or a period rule ended: the build date's prices, on a date that does not move every
    day (so the what-if rows are not rebuilt every day). Without dated rules: the build date."""
    today = datetime.now(UTC).date()
    with duckdb.connect(str(hand_made.warehouse), read_only=True) as con:
        undated = con.execute(
            "select distinct today_price_date from intermediate.int_whatif_scenarios"
        ).fetchall()
    assert undated == [(today,)]

    promo_ended = today - timedelta(days=5)
    dated = [
        {**r, "valid_from": today - timedelta(days=40)} if r["model_id"] == "small" else r
        for r in PRICE_RULES
    ] + [
        # a promotion on the small model's input, over before today
        _price_rule("small", "input_mtok", "input_tokens", Decimal("0.1"), rule_kind="period",
                    valid_from=today - timedelta(days=20), valid_to=promo_ended),
        # a price change announced for later
        _price_rule("big", "output_mtok", "output_tokens", Decimal("1.0"),
                    valid_from=today + timedelta(days=10)),
    ]  # fmt: skip
    data = DataPaths(tmp_path / "data")
    hand_made_warehouse(data, dated)
    write_scenario_rules(
        data,
        [rule("now", 1, match_feature="code", candidate_provider="o", candidate_model="small",
              price_basis="today", price_date=None)],
    )  # fmt: skip
    build_whatif(data, tmp_path)
    with duckdb.connect(str(data.warehouse), read_only=True) as con:
        scenario = con.execute(
            "select today_price_date from intermediate.int_whatif_scenarios"
        ).fetchall()
        calls = con.execute(
            "select event_id, price_date, scenario_cost_usd from intermediate.int_whatif_calls_priced "
            "where rule_index = 1"
        ).fetchall()
    assert scenario == [(promo_ended,)]
    # priced as today: the standard price, not the promotion's
    assert calls == [("c-code", promo_ended, cost(150_000, 1_000, SMALL))]


# ---------------------------------------------------------------------------------------------
# the identity on the shared sample warehouse


@pytest.fixture(scope="module")
def identity(built: DataPaths, tmp_path_factory) -> DataPaths:
    """A copy of the shared build's warehouse (the shared one is left as it was), with a scenario
    that changes nothing: candidate the call's own, tier and cache as observed, ratio 1, prices
    at call time, over the default period."""
    tmp = tmp_path_factory.mktemp("whatif_identity")
    data = DataPaths(tmp / "data").ensure()
    shutil.copy(built.warehouse, data.warehouse)
    write_scenario_rules(
        data,
        [
            rule(
                "identity", 1, period_start=None, period_end=None, price_basis="call_time",
                price_date=None, assumptions="as observed",
            )
        ],
    )  # fmt: skip
    build_whatif(data, tmp)
    return data


def test_a_scenario_identical_to_the_observed_traffic_costs_the_actual_cost(identity):
    with duckdb.connect(str(identity.warehouse), read_only=True) as con:
        first, latest = con.execute(
            "select min(event_date), max(event_date) from marts.fct_llm_calls"
        ).fetchone()
        month_end = latest.replace(day=1)  # the last full month before the latest day
        month_start = (month_end - timedelta(days=1)).replace(day=1)
        if first <= month_start:
            period = (month_start, month_end)
        else:  # no full month held: every day
            period = (first, latest + timedelta(days=1))
        # the calls' actual cost per feature and route, from the calls mart itself
        expected = {
            (feature, route): (calls, cost_usd)
            for feature, route, calls, cost_usd in con.execute(
                "select coalesce(feature, '(untagged)'), route, count(*), sum(cost_usd) "
                "from marts.fct_llm_calls where event_date >= ? and event_date < ? group by all",
                list(period),
            ).fetchall()
        }
        rows = con.execute(
            "select feature, route, calls, actual_cost_usd, scenario_cost_usd, "
            "actual_unpriced_calls, scenario_unpriced_calls, period_start, period_end "
            "from marts.mart_whatif_feature_route where scenario_id = 'identity'"
        ).fetchall()
    assert len(expected) > 5
    assert {(r[0], r[1]): (r[2], r[3]) for r in rows} == expected
    for feature, route, _, actual, scenario, actual_unpriced, scenario_unpriced, *dates in rows:
        assert tuple(dates) == period
        assert scenario_unpriced == actual_unpriced, (feature, route)
        if actual is None:
            assert scenario is None, (feature, route)
        else:
            assert abs(scenario - actual) <= Decimal("1e-9"), (feature, route, actual, scenario)
