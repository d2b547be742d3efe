"""The Monte Carlo method of the plan-margin calculator (docs/decisions.md, "Plan-margin
calculator"). Pure arithmetic on arrays: no warehouse, no pricing (task costs arrive priced by
dbt's ``int_call_shapes_priced``).

For each simulated customer and feature, draw the tasks of one month (a lognormal fitted to the
file's median and p90, rounded to the nearest whole task; or the task count of a real customer of
a named plan, drawn with replacement), then the cost of each task, drawn with replacement from
that feature's priced task shapes; the customer's AI cost is the sum. Every draw comes from one
``numpy.random.default_rng(seed)`` in a fixed order (features in file order), so a seed gives the
same numbers on every run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

# the standard normal's 90th percentile: Phi^-1(0.9)
Z90 = 1.2815515655446004
QUANTILES = (0.50, 0.90, 0.99)


@dataclass(frozen=True)
class LognormalFit:
    mu: float
    sigma: float


def fit_lognormal(median: float, p90: float) -> LognormalFit:
    """The lognormal with this median and 90th percentile: mu = ln(median),
    sigma = (ln(p90) - ln(median)) / z90. A median of 0 is the point mass at 0."""
    if median < 0 or p90 < median:
        raise ValueError(f"need 0 <= median <= p90, got median {median} and p90 {p90}")
    if median == 0:
        if p90 > 0:
            raise ValueError("a median of 0 with a p90 above 0 has no lognormal fit")
        return LognormalFit(mu=-math.inf, sigma=0.0)
    return LognormalFit(mu=math.log(median), sigma=(math.log(p90) - math.log(median)) / Z90)


@dataclass(frozen=True)
class FeatureDraws:
    """What the simulation needs of one feature: how its task counts are drawn and the cost of
    each of its priced task shapes."""

    feature: str
    task_costs: np.ndarray  # one cost (USD) per priced task shape
    lognormal: LognormalFit | None = None  # tasks per customer-month ...
    like_plan: str | None = None  # ... or drawn from this plan's real customers


@dataclass(frozen=True)
class Simulation:
    customers: int
    tasks: dict[str, np.ndarray]  # feature -> tasks per simulated customer
    costs: dict[str, np.ndarray]  # feature -> AI cost (USD) per simulated customer
    total_cost: np.ndarray  # AI cost per simulated customer

    @property
    def total_tasks(self) -> np.ndarray:
        return sum(self.tasks.values(), np.zeros(self.customers, dtype=np.int64))


def simulate(
    features: Sequence[FeatureDraws],
    *,
    customers: int,
    seed: int,
    plan_customer_tasks: Mapping[str, Mapping[str, np.ndarray]] | None = None,
) -> Simulation:
    """Simulate ``customers`` customer-months. ``plan_customer_tasks[plan_id][feature]`` holds the
    tasks of that feature of each real customer of the plan (same customer order for every
    feature): a simulated customer drawn from a plan takes one real customer's tasks for every
    feature that names the plan, so features used together stay together."""
    rng = np.random.default_rng(seed)
    plan_customer_tasks = plan_customer_tasks or {}
    # one real customer per simulated customer and named plan, drawn before any task count
    drawn_customer: dict[str, np.ndarray] = {}
    for plan_id in dict.fromkeys(f.like_plan for f in features if f.like_plan is not None):
        by_feature = plan_customer_tasks.get(plan_id, {})
        size = len(next(iter(by_feature.values()))) if by_feature else 0
        if size == 0:
            raise ValueError(f"plan {plan_id!r} has no customers to draw tasks from")
        drawn_customer[plan_id] = rng.integers(0, size, size=customers)
    tasks: dict[str, np.ndarray] = {}
    costs: dict[str, np.ndarray] = {}
    for feature in features:
        if feature.like_plan is not None:
            real = np.asarray(
                plan_customer_tasks[feature.like_plan][feature.feature], dtype=np.int64
            )
            counts = real[drawn_customer[feature.like_plan]]
        elif feature.lognormal is not None:
            counts = draw_task_counts(rng, feature.lognormal, customers)
        else:
            raise ValueError(f"feature {feature.feature!r} has no task distribution")
        tasks[feature.feature] = counts
        costs[feature.feature] = sum_task_costs(rng, counts, feature.task_costs)
    total = np.zeros(customers, dtype=np.float64)
    for cost in costs.values():
        total = total + cost
    return Simulation(customers=customers, tasks=tasks, costs=costs, total_cost=total)


def draw_task_counts(rng: np.random.Generator, fit: LognormalFit, customers: int) -> np.ndarray:
    """Tasks of one month per customer: a lognormal draw rounded to the nearest whole task."""
    if fit.mu == -math.inf:
        return np.zeros(customers, dtype=np.int64)
    return np.rint(rng.lognormal(fit.mu, fit.sigma, size=customers)).astype(np.int64)


def sum_task_costs(
    rng: np.random.Generator, counts: np.ndarray, task_costs: np.ndarray
) -> np.ndarray:
    """Per customer, the sum of ``counts[i]`` task costs drawn with replacement."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(len(counts), dtype=np.float64)
    if len(task_costs) == 0:
        raise ValueError("no priced task to draw costs from")
    drawn = np.asarray(task_costs, dtype=np.float64)[rng.integers(0, len(task_costs), size=total)]
    owner = np.repeat(np.arange(len(counts)), counts)
    return np.bincount(owner, weights=drawn, minlength=len(counts))


@dataclass(frozen=True)
class PointResult:
    quantile: float
    cost_usd: float
    gross_margin_usd: float
    gross_margin_pct: float


@dataclass(frozen=True)
class Outcome:
    """What the calculator prints for one plan."""

    points: tuple[PointResult, ...]  # p50, p90, p99 of AI cost per customer
    mean_task_cost_usd: float  # the plan's task mix: total cost / total tasks
    breakeven_tasks: float  # tasks per month at which a customer's AI cost reaches the price
    price_for_target_usd: float  # the price at which the p90 customer has the target margin
    share_unprofitable: float  # simulated customers whose AI cost exceeds the price
    share_below_target: float  # simulated customers under the target margin at the plan's price


def evaluate(sim: Simulation, *, price_usd: float, target_gross_margin: float) -> Outcome:
    points = []
    for q in QUANTILES:
        cost = float(np.quantile(sim.total_cost, q))
        margin = price_usd - cost
        points.append(PointResult(q, cost, margin, margin / price_usd))
    p90 = next(p.cost_usd for p in points if p.quantile == 0.90)
    tasks = int(sim.total_tasks.sum())
    mean_task = float(sim.total_cost.sum()) / tasks if tasks else 0.0
    return Outcome(
        points=tuple(points),
        mean_task_cost_usd=mean_task,
        breakeven_tasks=breakeven_tasks(price_usd, mean_task),
        price_for_target_usd=price_for_target(p90, target_gross_margin),
        share_unprofitable=float(np.mean(sim.total_cost > price_usd)),
        share_below_target=float(
            np.mean(price_usd - sim.total_cost < target_gross_margin * price_usd)
        ),
    )


def breakeven_tasks(price_usd: float, mean_task_cost_usd: float) -> float:
    """Tasks per month at which a customer's AI cost equals the price: price / mean task cost
    (infinite when tasks cost nothing)."""
    return math.inf if mean_task_cost_usd <= 0 else price_usd / mean_task_cost_usd


def price_for_target(cost_usd: float, target_gross_margin: float) -> float:
    """The price at which a customer costing ``cost_usd`` has the target margin:
    (price - cost) / price = target  <=>  price = cost / (1 - target)."""
    return cost_usd / (1 - target_gross_margin)
