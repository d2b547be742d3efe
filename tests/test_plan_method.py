"""The plan calculator's arithmetic on hand-made inputs (orchestration/plans/method.py and the
replay's arithmetic, orchestration/plans/replay.py). Expected values are computed here by hand."""

from __future__ import annotations

import math
from datetime import date
from statistics import NormalDist

import numpy as np
import pytest

from orchestration.plans import method
from orchestration.plans.period import Period, period_of
from orchestration.plans.replay import Customer, replay


def test_lognormal_fit_from_median_and_p90():
    z90 = NormalDist().inv_cdf(0.9)
    fit = method.fit_lognormal(100, 400)
    assert fit.mu == pytest.approx(math.log(100), abs=1e-12)
    assert fit.sigma == pytest.approx(math.log(4) / z90, abs=1e-12)
    # the fitted distribution has that median and p90
    dist = NormalDist(fit.mu, fit.sigma)
    assert math.exp(dist.inv_cdf(0.5)) == pytest.approx(100, rel=1e-9)
    assert math.exp(dist.inv_cdf(0.9)) == pytest.approx(400, rel=1e-9)


def test_lognormal_fit_of_equal_median_and_p90_is_a_point():
    fit = method.fit_lognormal(30, 30)
    counts = method.draw_task_counts(np.random.default_rng(1), fit, 1000)
    assert set(counts.tolist()) == {30}


def test_median_zero_means_no_tasks_and_bad_fits_are_refused():
    counts = method.draw_task_counts(np.random.default_rng(1), method.fit_lognormal(0, 0), 50)
    assert counts.sum() == 0
    with pytest.raises(ValueError):
        method.fit_lognormal(0, 5)
    with pytest.raises(ValueError):
        method.fit_lognormal(10, 5)


def test_drawn_task_counts_follow_the_fitted_median_and_p90():
    counts = method.draw_task_counts(
        np.random.default_rng(3), method.fit_lognormal(200, 900), 200_000
    )
    assert np.quantile(counts, 0.5) == pytest.approx(200, rel=0.02)
    assert np.quantile(counts, 0.9) == pytest.approx(900, rel=0.02)


def test_task_costs_are_summed_per_customer():
    rng = np.random.default_rng(5)
    counts = np.array([0, 1, 4, 10])
    # every task shape costs $0.25: a customer's cost is tasks x 0.25, whichever are drawn
    assert method.sum_task_costs(rng, counts, np.array([0.25, 0.25])).tolist() == [0, 0.25, 1, 2.5]
    costs = method.sum_task_costs(rng, counts, np.array([1.0, 3.0]))
    assert costs[0] == 0
    for n, cost in zip(counts[1:], costs[1:], strict=True):
        assert n * 1.0 <= cost <= n * 3.0 and float(cost).is_integer()


def test_evaluate_on_a_hand_made_simulation():
    # 100 customers costing $0, $1, ..., $99, ten tasks each
    sim = method.Simulation(
        customers=100,
        tasks={"a": np.full(100, 10)},
        costs={"a": np.arange(100, dtype=float)},
        total_cost=np.arange(100, dtype=float),
    )
    outcome = method.evaluate(sim, price_usd=100, target_gross_margin=0.7)
    # numpy's default quantile interpolates linearly at (n - 1) x q: 49.5, 89.1, 98.01
    p50, p90, p99 = outcome.points
    assert (p50.cost_usd, p90.cost_usd, p99.cost_usd) == pytest.approx((49.5, 89.1, 98.01))
    assert p90.gross_margin_usd == pytest.approx(10.9)
    assert p90.gross_margin_pct == pytest.approx(0.109)
    # the task mix: 4950 dollars over 1000 tasks
    assert outcome.mean_task_cost_usd == pytest.approx(4.95)
    assert outcome.breakeven_tasks == pytest.approx(100 / 4.95)
    assert outcome.price_for_target_usd == pytest.approx(89.1 / 0.3)
    assert outcome.share_unprofitable == 0
    # under 70%: a cost above $30, customers 31..99
    assert outcome.share_below_target == pytest.approx(0.69)


def test_breakeven_and_price_for_target():
    assert method.breakeven_tasks(49, 0.07) == pytest.approx(700)
    assert method.breakeven_tasks(49, 0) == math.inf
    assert method.price_for_target(12, 0.75) == pytest.approx(48)
    assert method.price_for_target(12, 0) == pytest.approx(12)


def _features():
    return [
        method.FeatureDraws("chat", np.array([0.01, 0.02, 0.05]), method.fit_lognormal(100, 500)),
        method.FeatureDraws("docs", np.array([0.1, 0.3]), method.fit_lognormal(5, 20)),
    ]


def test_same_seed_same_numbers_other_seed_other_numbers():
    first = method.simulate(_features(), customers=2000, seed=11)
    again = method.simulate(_features(), customers=2000, seed=11)
    other = method.simulate(_features(), customers=2000, seed=12)
    assert np.array_equal(first.total_cost, again.total_cost)
    for name in ("chat", "docs"):
        assert np.array_equal(first.tasks[name], again.tasks[name])
    assert not np.array_equal(first.total_cost, other.total_cost)


def test_customer_cost_is_the_sum_of_its_features():
    sim = method.simulate(_features(), customers=500, seed=2)
    assert np.allclose(sim.total_cost, sim.costs["chat"] + sim.costs["docs"])
    assert np.array_equal(sim.total_tasks, sim.tasks["chat"] + sim.tasks["docs"])


def test_like_plan_draws_whole_real_customers():
    real = {"pro": {"a": np.array([0, 5, 10]), "b": np.array([100, 200, 300])}}
    features = [
        method.FeatureDraws("a", np.array([1.0]), like_plan="pro"),
        method.FeatureDraws("b", np.array([0.5]), like_plan="pro"),
    ]
    sim = method.simulate(features, customers=3000, seed=4, plan_customer_tasks=real)
    pairs = set(zip(sim.tasks["a"].tolist(), sim.tasks["b"].tolist(), strict=True))
    assert pairs == {(0, 100), (5, 200), (10, 300)}
    # every task costs $1 (a) or $0.5 (b)
    assert np.allclose(sim.total_cost, sim.tasks["a"] * 1.0 + sim.tasks["b"] * 0.5)


def test_period_is_the_last_full_month_else_every_day():
    assert period_of(date(2026, 9, 25), date(2026, 11, 8)) == Period(
        date(2026, 10, 1), date(2026, 11, 1), True
    )
    assert period_of(date(2026, 10, 1), date(2026, 11, 1)) == Period(
        date(2026, 10, 1), date(2026, 11, 1), True
    )
    assert period_of(date(2026, 11, 11), date(2026, 11, 22)) == Period(
        date(2026, 11, 11), date(2026, 11, 23), False
    )
    assert period_of(date(2026, 10, 2), date(2026, 11, 22)) == Period(
        date(2026, 10, 2), date(2026, 11, 23), False
    )


def test_replay_arithmetic_on_hand_made_customers():
    period = Period(date(2026, 10, 1), date(2026, 11, 1), True)
    customers = [
        # revenue 29, cost 3 + 2 + 1 = 6
        Customer("a", 1, 29.0, 6.0, 3, 0, (3.0, 2.0, 1.0)),
        # revenue 29, cost 20 over four tasks
        Customer("b", 1, 29.0, 20.0, 4, 2, (5.0, 5.0, 5.0, 5.0)),
        # revenue not in USD: left out of both sides
        Customer("c", 1, None, 1.0, 1, 0, (1.0,)),
    ]
    result = replay(
        customers,
        plan_id="starter",
        period=period,
        price_usd=39.0,
        included_tasks=2,
        target_gross_margin=0.7,
    )
    assert result.customers == 2 and result.revenue_unknown == 1
    assert result.before.revenue_usd == pytest.approx(58)
    assert result.before.ai_cost_usd == pytest.approx(26)
    # a: 23/29 = 79% (above 70%); b: 9/29 = 31% (below)
    assert result.before.below_target == 1 and result.before.unprofitable == 0
    # after: a keeps tasks 1-2 (cost 5), b tasks 1-2 (cost 10); revenue 39 each
    assert result.after.revenue_usd == pytest.approx(78)
    assert result.after.ai_cost_usd == pytest.approx(15)
    assert result.after.gross_margin_usd == pytest.approx(63)
    assert result.after.gross_margin_pct == pytest.approx(63 / 78)
    # a: 34/39 = 87%; b: 29/39 = 74%: none below 70%
    assert result.after.below_target == 0
    assert result.tasks_dropped == 1 + 2
    assert result.unpriced_calls == 2


def test_replay_without_a_cap_keeps_the_cost_and_a_low_price_loses_money():
    period = Period(date(2026, 10, 1), date(2026, 11, 1), True)
    customers = [Customer("a", 1, 29.0, 6.0, 3, 0), Customer("b", 2, 58.0, 20.0, 4, 0)]
    result = replay(
        customers,
        plan_id="starter",
        period=period,
        price_usd=8.0,
        included_tasks=None,
        target_gross_margin=0.5,
    )
    assert result.after.ai_cost_usd == pytest.approx(26)
    # b is on the plan two months: 2 x 8
    assert result.after.revenue_usd == pytest.approx(24)
    # a: 8 - 6 = 2 (25%, below 50%), b: 16 - 20 < 0
    assert result.after.below_target == 2 and result.after.unprofitable == 1
    assert result.before.below_target == 0


def test_a_task_with_an_unpriced_call_is_counted_never_free():
    import duckdb

    from orchestration.plans.pricing import read_task_costs

    con = duckdb.connect()
    con.execute("create schema intermediate")
    con.execute(
        "create table intermediate.int_call_shapes_priced (shape_set varchar, feature varchar, "
        "task_key varchar, call_index integer, cost_usd decimal(24, 12), unpriced_reason varchar)"
    )
    con.execute(
        """insert into intermediate.int_call_shapes_priced values
        ('p', 'a', 'a/1', 1, 0.010, null), ('p', 'a', 'a/1', 2, 0.005, null),
        ('p', 'a', 'a/2', 1, 0.020, null), ('p', 'a', 'a/2', 2, null, 'no_token_price'),
        ('p', 'a', 'a/3', 1, 0.001, null),
        ('other', 'a', 'a/9', 1, 9.0, null)"""
    )
    priced = read_task_costs(con, "p")
    assert sorted(priced["a"].task_costs.tolist()) == pytest.approx([0.001, 0.015])
    assert priced["a"].unpriced_tasks == 1
    assert priced["a"].unpriced_reasons == ("no_token_price",)
