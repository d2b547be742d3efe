"""The steps of ``llm-margin plan-calculator``: validate, find token sizes, price them through dbt,
simulate (before launch), or replay a plan's real customers (after launch).

Real traffic (observed token sizes, a named plan's customers) is read from the serving copy of the
marts, as every reader does; the priced call shapes from the warehouse, right after dbt built them,
while this process holds the data directory's lock (one writer)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np

from orchestration.paths import DataPaths
from orchestration.plans import method, replay, shapes
from orchestration.plans.period import Period, warehouse_period
from orchestration.plans.plan_file import Plan, PlanFileError, Problem, check_against_warehouse
from orchestration.plans.pricing import PricingError, build_priced_shapes, read_task_costs


class CalculatorError(RuntimeError):
    """The calculation cannot run; the message says why and what to do."""


@dataclass(frozen=True)
class FeatureResult:
    feature: str
    provider: str
    model: str
    service_tier: str | None
    tasks_source: str  # "lognormal(median, p90)" or "like plan X"
    tokens_source: str  # where the token sizes came from
    task_shapes: int
    mean_task_cost_usd: float
    mean_tasks: float


@dataclass(frozen=True)
class PlanResult:
    plan: Plan
    period: Period | None
    price_date: date
    features: tuple[FeatureResult, ...]
    outcome: method.Outcome


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A read-only connection to a DuckDB file in UTC, or None when the file does not exist."""
    if not path.exists():
        yield None
        return
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        yield con
    finally:
        con.close()


def serving_path(paths: DataPaths) -> Path:
    from orchestration.serving.publish import serving_file

    return serving_file(paths.serving)


def _has_marts(con: duckdb.DuckDBPyConnection | None) -> bool:
    if con is None:
        return False
    names = {
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
    }
    return {"fct_tasks", "fct_llm_calls", "mart_customer_monthly_margin"} <= names


def run_plan(
    plan: Plan,
    paths: DataPaths,
    *,
    price_date: date | None = None,
    datasets: Path = shapes.DATASETS,
) -> PlanResult:
    """Before launch: the plan's AI cost per customer by Monte Carlo (orchestration/plans/method.py).
    Raises ``PlanFileError`` (file, line, reason) before anything is written when the plan names
    a feature or plan the data does not hold."""
    from orchestration.data_lock import DataDirBusy, hold
    from orchestration.pricing.resolution import write_resolution

    price_date = price_date or datetime.now(UTC).date()
    rng = np.random.default_rng(plan.seed)
    with read_only(serving_path(paths)) as con:
        marts = con if _has_marts(con) else None
        period = warehouse_period(marts) if marts is not None else None
        observed = shapes.observed_features(marts, period.start, period.end) if period else set()
        known_plans = replay.plan_ids(marts) if marts is not None else set()
        check_against_warehouse(
            plan,
            observed_features=observed,
            plan_ids=known_plans,
            traces_present=shapes.traces_present(datasets),
        )
        found = shapes.shapes_for_plan(
            plan, con=marts, period=period, observed=observed, rng=rng, datasets=datasets
        )
        plan_tasks = {}
        for plan_id in dict.fromkeys(f.tasks.like_plan for f in plan.features if f.tasks.like_plan):
            names = [f.feature for f in plan.features if f.tasks.like_plan == plan_id]
            plan_tasks[plan_id] = replay.like_plan_tasks(marts, plan_id, names, period)
    table = shapes.shapes_table(plan, found, price_date)
    try:
        with hold(
            paths.root,
            f"llm-margin plan-calculator {plan.name}",
            advice="Wait for it to finish and run the plan calculator again.",
        ):
            shapes.write_shapes(paths.lake, table)
            # a model no real call uses yet needs its resolution too (same resolver, same file)
            write_resolution(paths.lake)
            build_priced_shapes(paths.logs / f"plan-calculator-{plan.name}.log")
            with read_only(paths.warehouse) as warehouse:
                priced = read_task_costs(warehouse, plan.name)
    except DataDirBusy as busy:
        raise CalculatorError(str(busy)) from None
    except PricingError as error:
        raise CalculatorError(str(error)) from None
    draws = []
    for feature in plan.features:
        tasks = priced.get(feature.feature)
        if tasks is None or tasks.unpriced_tasks:
            unpriced = tasks.unpriced_tasks if tasks else 0
            reasons = "; ".join(tasks.unpriced_reasons) if tasks else "no priced row"
            raise PlanFileError(
                [
                    Problem(
                        plan.file,
                        feature.line,
                        f"feature {feature.feature!r}: {unpriced} of its task shapes have no "
                        f"price on {feature.provider}/{feature.model} "
                        f"(tier {feature.service_tier or 'standard'}) on {price_date}: {reasons}",
                    )
                ]
            )
        draws.append(
            method.FeatureDraws(
                feature=feature.feature,
                task_costs=tasks.task_costs,
                lognormal=(
                    method.fit_lognormal(feature.tasks.median, feature.tasks.p90)
                    if feature.tasks.like_plan is None
                    else None
                ),
                like_plan=feature.tasks.like_plan,
            )
        )
    sim = method.simulate(
        draws, customers=plan.customers, seed=plan.seed, plan_customer_tasks=plan_tasks
    )
    outcome = method.evaluate(
        sim, price_usd=plan.price_usd, target_gross_margin=plan.target_gross_margin
    )
    by_name = {s.feature: s for s in found}
    results = []
    for feature, draw in zip(plan.features, draws, strict=True):
        t = feature.tasks
        results.append(
            FeatureResult(
                feature=feature.feature,
                provider=feature.provider,
                model=feature.model,
                service_tier=feature.service_tier,
                tasks_source=(
                    f"like plan {t.like_plan}"
                    if t.like_plan
                    else f"lognormal(median {t.median:g}, p90 {t.p90:g})"
                ),
                tokens_source=by_name[feature.feature].detail,
                task_shapes=len(draw.task_costs),
                mean_task_cost_usd=float(np.mean(draw.task_costs)),
                mean_tasks=float(np.mean(sim.tasks[feature.feature])),
            )
        )
    return PlanResult(plan, period, price_date, tuple(results), outcome)


def run_replay(
    plan: Plan,
    paths: DataPaths,
    plan_id: str,
    *,
    price_usd: float | None = None,
    included_tasks: int | None = None,
) -> replay.Replay:
    """After launch: the plan's real customers at the proposed price (default: the plan file's)
    and included-task cap, from the serving copy of the marts."""
    if price_usd is not None and not price_usd > 0:
        raise CalculatorError(f"--price must be greater than 0, got {price_usd}")
    if included_tasks is not None and included_tasks < 0:
        raise CalculatorError(f"--included-tasks must be 0 or more, got {included_tasks}")
    with read_only(serving_path(paths)) as con:
        if not _has_marts(con):
            raise CalculatorError(
                f"no serving copy of the marts in {paths.serving}: build first (make run or "
                "llm-margin materialize)"
            )
        period = warehouse_period(con)
        known = replay.plan_ids(con)
        if period is None or plan_id not in known:
            raise CalculatorError(
                f"--replay {plan_id!r} is not a plan in the warehouse (plans: "
                f"{', '.join(sorted(known)) or 'none'})"
            )
        customers = replay.read_customers(
            con, plan_id, period, with_tasks=included_tasks is not None
        )
    return replay.replay(
        customers,
        plan_id=plan_id,
        period=period,
        price_usd=plan.price_usd if price_usd is None else price_usd,
        included_tasks=included_tasks,
        target_gross_margin=plan.target_gross_margin,
    )
