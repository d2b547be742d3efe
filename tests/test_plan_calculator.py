"""``llm-margin plan-calculator`` end to end on the shared sample warehouse (tests/conftest.py):
the replay of a real plan against the plan margin mart, and the calculation before launch through
dbt's int_call_shapes_priced. Uses the shared build read-only, except the plan calculator's own
lake table (lake/plan_shapes) and the model it builds."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from genai_prices import Usage, calc_price

from orchestration import cli
from orchestration.plans.calculator import CalculatorError, run_plan, run_replay, serving_path
from orchestration.plans.plan_file import load_plan


def _plan(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    return path


REPLAY_PLAN = """\
name: replay-check
price_usd: 49
target_gross_margin: 0.7
features:
  - feature: chat_assistant
    tasks_per_customer_month: {median: 10, p90: 40}
    provider: openai
    model: gpt-4o-mini
"""


@pytest.fixture(scope="module")
def plan_totals(built):
    """The busiest real plan of the sample, from mart_plan_monthly_margin (another model than the
    customer mart the replay reads): customers, revenue, AI cost and tasks."""
    with duckdb.connect(str(serving_path(built)), read_only=True) as con:
        return con.execute(
            """
            select plan_id, sum(customers), sum(revenue_usd), sum(ai_cost_usd), sum(tasks)
            from marts.mart_plan_monthly_margin
            where plan_id <> '(unknown customer)'
            group by plan_id
            order by sum(tasks) desc, plan_id
            limit 1
            """
        ).fetchone()


def test_replay_before_is_the_plan_margin_mart(built, tmp_path, plan_totals):
    plan_id, customers, revenue, cost, _ = plan_totals
    plan = load_plan(_plan(tmp_path, REPLAY_PLAN))
    result = run_replay(plan, built, plan_id)
    # the sample holds 12 days of November: no full month, so every day
    assert not result.period.is_full_month
    assert result.customers + result.revenue_unknown == customers
    assert result.before.revenue_usd == pytest.approx(float(revenue), abs=1e-6)
    assert result.before.ai_cost_usd == pytest.approx(float(cost), abs=1e-9)
    # no cap: the same AI cost at the plan file's price
    assert result.after.ai_cost_usd == pytest.approx(float(cost), abs=1e-9)
    assert result.after.revenue_usd == pytest.approx(49 * result.customers)


def test_replay_with_a_cap(built, tmp_path, plan_totals):
    plan_id, _, _, cost, tasks = plan_totals
    plan = load_plan(_plan(tmp_path, REPLAY_PLAN))
    nothing = run_replay(plan, built, plan_id, price_usd=10, included_tasks=0)
    assert nothing.after.ai_cost_usd == pytest.approx(0, abs=1e-9)
    assert nothing.tasks_dropped == tasks
    assert nothing.after.revenue_usd == pytest.approx(10 * nothing.customers)
    assert nothing.after.below_target == 0 and nothing.after.unprofitable == 0
    everything = run_replay(plan, built, plan_id, included_tasks=10**9)
    assert everything.after.ai_cost_usd == pytest.approx(float(cost), abs=1e-9)
    assert everything.tasks_dropped == 0


def test_replay_refuses_an_unknown_plan(built, tmp_path):
    plan = load_plan(_plan(tmp_path, REPLAY_PLAN))
    with pytest.raises(CalculatorError, match="'platinum' is not a plan in the warehouse"):
        run_replay(plan, built, "platinum")


def test_replay_command_prints_before_and_after(built, tmp_path, plan_totals, capsys):
    path = _plan(tmp_path, REPLAY_PLAN)
    code = cli.main(["plan-calculator", str(path), "--replay", plan_totals[0], "--price", "59"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert f"Replay of plan {plan_totals[0]}" in printed
    assert "before (actual)" in printed and "after" in printed and "$59.00" in printed
    assert "method:" in printed


BEFORE_LAUNCH_PLAN = """\
name: e2e-plan
price_usd: 29
target_gross_margin: 0.7
seed: 5
customers: 3000
features:
  - feature: chat_assistant
    tasks_per_customer_month: {median: 50, p90: 200}
    provider: OpenAI
    model: gpt-4o-mini
  - feature: brand_new
    tasks_per_customer_month: {median: 200, p90: 800}
    provider: openai
    model: gpt-4o
    tokens: {prompt: 4000, completion: 500, calls_per_task: 3}
"""


def _calc_price(row: dict) -> Decimal:
    """genai-prices' own calculator: an oracle independent of the warehouse's SQL."""
    at = datetime.combine(row["price_date"], time(0), tzinfo=UTC) + timedelta(
        seconds=row["second_of_day"]
    )
    usage = Usage(
        input_tokens=row["prompt_tokens"],
        cache_read_tokens=row["cached_prompt_tokens"],
        cache_write_tokens=row["cache_write_tokens"],
        output_tokens=row["completion_tokens"],
        output_reasoning_tokens=row["reasoning_tokens"],
    )
    return calc_price(
        usage, row["model"], provider_id=row["provider"], genai_request_timestamp=at
    ).total_price


@pytest.fixture(scope="module")
def before_launch(built, tmp_path_factory):
    path = _plan(tmp_path_factory.mktemp("plan"), BEFORE_LAUNCH_PLAN)
    plan = load_plan(path)
    result = run_plan(plan, built, price_date=date(2026, 11, 23))
    shapes = pq.read_table(built.lake / "plan_shapes" / "call_shapes.parquet").to_pylist()
    return plan, result, shapes


def test_observed_feature_takes_every_task_of_the_period(built, before_launch):
    _, result, shapes = before_launch
    chat = [row for row in shapes if row["feature"] == "chat_assistant"]
    with duckdb.connect(str(serving_path(built)), read_only=True) as con:
        tasks, prompt, completion = con.execute(
            "select count(*), sum(prompt_tokens), sum(completion_tokens) from marts.fct_tasks "
            "where feature = 'chat_assistant'"
        ).fetchone()
    # the sample holds no full month: every day; fct_tasks sums each task's attempts
    assert len({row["task_key"] for row in chat}) == tasks
    assert sum(row["prompt_tokens"] for row in chat) == prompt
    assert sum(row["completion_tokens"] for row in chat) == completion
    # the plan's provider (normalised as staging does) and model replace the observed ones
    assert {(row["provider"], row["model"], row["service_tier"]) for row in chat} == {
        ("openai", "gpt-4o-mini", None)
    }
    assert result.features[0].tokens_source.endswith("(observed)")


def test_task_costs_come_priced_like_real_calls(before_launch):
    _, result, shapes = before_launch
    for feature in result.features:
        rows = [row for row in shapes if row["feature"] == feature.feature]
        by_task: dict[str, Decimal] = {}
        for row in rows:
            by_task[row["task_key"]] = by_task.get(row["task_key"], Decimal(0)) + _calc_price(row)
        expected = sum(by_task.values()) / len(by_task)
        assert feature.task_shapes == len(by_task)
        assert feature.mean_task_cost_usd == pytest.approx(float(expected), abs=1e-9)
    # by hand: 3 calls x (4,000 x $2.50 + 500 x $10) per million tokens
    assert result.features[1].mean_task_cost_usd == pytest.approx(0.045, abs=1e-12)
    assert result.features[1].task_shapes == 24


def test_before_launch_outcome(before_launch):
    plan, result, _ = before_launch
    outcome = result.outcome
    p50, p90, p99 = (point.cost_usd for point in outcome.points)
    assert 0 < p50 <= p90 <= p99
    for point in outcome.points:
        assert point.gross_margin_usd == pytest.approx(29 - point.cost_usd)
        assert point.gross_margin_pct == pytest.approx((29 - point.cost_usd) / 29)
    assert outcome.price_for_target_usd == pytest.approx(p90 / 0.3)
    assert outcome.breakeven_tasks == pytest.approx(29 / outcome.mean_task_cost_usd)
    # brand_new dominates: about 0.045 x its tasks; its p50 of 200 tasks alone costs $9
    assert p50 > 9 * 0.9


def test_before_launch_output_names_the_method(before_launch):
    from rich.console import Console

    from orchestration.plans.output import print_plan

    _, result, _ = before_launch
    console = Console(record=True, width=200)
    print_plan(result, console)
    text = console.export_text()
    for expected in ("Plan e2e-plan", "p50", "p90", "p99", "method: Monte Carlo", "gpt-4o"):
        assert expected in text, text
    assert f"{result.outcome.price_for_target_usd:,.2f}" in text
