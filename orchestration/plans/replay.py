"""After launch: a plan's real customers replayed at a proposed price and/or included-task cap.

The customers, their revenue, AI cost and tasks come from the marts (the period's rows of
``marts.mart_customer_monthly_margin`` for the plan: one number, one place). A cap of N included
tasks keeps each customer's first N tasks of the period (by start time) and drops the AI cost of
the rest, read from ``marts.fct_tasks``; revenue after is the proposed price per customer-month.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np

from orchestration.plans.period import Period


@dataclass(frozen=True)
class Customer:
    customer_id: str
    months: int  # months of the period the customer is on the plan
    revenue_usd: float | None  # None: revenue that could not be converted to USD
    ai_cost_usd: float
    tasks: int
    unpriced_calls: int
    # cost of each task of the period in start order; read only when a cap is asked for
    task_costs_usd: tuple[float, ...] = field(default=())


@dataclass(frozen=True)
class Side:
    revenue_usd: float
    ai_cost_usd: float
    below_target: int
    unprofitable: int

    @property
    def gross_margin_usd(self) -> float:
        return self.revenue_usd - self.ai_cost_usd

    @property
    def gross_margin_pct(self) -> float | None:
        return None if self.revenue_usd == 0 else self.gross_margin_usd / self.revenue_usd


@dataclass(frozen=True)
class Replay:
    plan_id: str
    period: Period
    customers: int
    revenue_unknown: int  # customers left out of both sides: revenue not in USD
    price_usd: float
    included_tasks: int | None
    target_gross_margin: float
    before: Side
    after: Side
    tasks_dropped: int
    unpriced_calls: int


def is_below_target(revenue: float, cost: float, target: float) -> bool:
    """Margin under target: (revenue - cost) < target x revenue (no revenue and any cost is)."""
    return revenue - cost < target * revenue or (revenue == 0 and cost > 0)


def replay(
    customers: list[Customer],
    *,
    plan_id: str,
    period: Period,
    price_usd: float,
    included_tasks: int | None,
    target_gross_margin: float,
) -> Replay:
    known = [c for c in customers if c.revenue_usd is not None]
    before_rev = before_cost = after_rev = after_cost = 0.0
    before_below = after_below = before_loss = after_loss = dropped = 0
    for customer in known:
        cost_after = customer.ai_cost_usd
        if included_tasks is not None and customer.tasks > included_tasks:
            beyond = customer.task_costs_usd[included_tasks:]
            cost_after = customer.ai_cost_usd - float(np.sum(beyond))
            dropped += customer.tasks - included_tasks
        revenue_after = price_usd * customer.months
        before_rev += customer.revenue_usd
        before_cost += customer.ai_cost_usd
        after_rev += revenue_after
        after_cost += cost_after
        before_below += is_below_target(
            customer.revenue_usd, customer.ai_cost_usd, target_gross_margin
        )
        after_below += is_below_target(revenue_after, cost_after, target_gross_margin)
        before_loss += customer.revenue_usd - customer.ai_cost_usd < 0
        after_loss += revenue_after - cost_after < 0
    return Replay(
        plan_id=plan_id,
        period=period,
        customers=len(known),
        revenue_unknown=len(customers) - len(known),
        price_usd=price_usd,
        included_tasks=included_tasks,
        target_gross_margin=target_gross_margin,
        before=Side(before_rev, before_cost, before_below, before_loss),
        after=Side(after_rev, after_cost, after_below, after_loss),
        tasks_dropped=dropped,
        unpriced_calls=sum(c.unpriced_calls for c in customers),
    )


def plan_ids(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("select distinct plan_id from marts.mart_customer_monthly_margin").fetchall()
    return {row[0] for row in rows if row[0] is not None}


def read_customers(
    con: duckdb.DuckDBPyConnection, plan_id: str, period: Period, *, with_tasks: bool
) -> list[Customer]:
    """The plan's customers of the period from the customer margin mart (a customer's plan is
    the plan of each month's row), with each task's cost when ``with_tasks``."""
    rows = con.execute(
        """
        select
            customer_id,
            cast(count(*) as integer) as months,
            case when count(*) = count(revenue_usd) then cast(sum(revenue_usd) as double) end,
            cast(sum(ai_cost_usd) as double),
            cast(sum(tasks) as bigint),
            cast(sum(unpriced_calls) as bigint)
        from marts.mart_customer_monthly_margin
        where plan_id = ? and month >= date_trunc('month', cast(? as date)) and month < ?
        group by customer_id
        order by customer_id
        """,
        [plan_id, period.start, period.end],
    ).fetchall()
    costs: dict[str, list[float]] = {}
    if with_tasks and rows:
        for customer_id, cost in con.execute(
            """
            select tasks.customer_id, cast(coalesce(tasks.total_cost_usd, 0) as double)
            from marts.fct_tasks as tasks
            inner join (
                select distinct customer_id from marts.mart_customer_monthly_margin
                where plan_id = ? and month >= date_trunc('month', cast(? as date)) and month < ?
            ) as plan_customers on tasks.customer_id = plan_customers.customer_id
            where tasks.started_at >= ? and tasks.started_at < ?
            order by tasks.customer_id, tasks.started_at, tasks.task_id
            """,
            [plan_id, period.start, period.end, period.start, period.end],
        ).fetchall():
            costs.setdefault(customer_id, []).append(cost)
    return [
        Customer(
            customer_id=customer_id,
            months=months,
            revenue_usd=revenue,
            ai_cost_usd=cost,
            tasks=len(costs[customer_id]) if with_tasks and customer_id in costs else tasks,
            unpriced_calls=unpriced,
            task_costs_usd=tuple(costs.get(customer_id, ())),
        )
        for customer_id, months, revenue, cost, tasks, unpriced in rows
    ]


def like_plan_tasks(
    con: duckdb.DuckDBPyConnection, plan_id: str, features: list[str], period: Period
) -> dict[str, np.ndarray]:
    """Tasks of each feature per real customer of the plan in the period (customers in one
    order for every feature; a customer without tasks of a feature has 0)."""
    customers = [c.customer_id for c in read_customers(con, plan_id, period, with_tasks=False)]
    counts = {f: np.zeros(len(customers), dtype=np.int64) for f in features}
    index = {c: i for i, c in enumerate(customers)}
    for customer_id, feature, tasks in con.execute(
        """
        select customer_id, feature, cast(count(*) as bigint)
        from marts.fct_tasks
        where started_at >= ? and started_at < ?
        group by customer_id, feature
        """,
        [period.start, period.end],
    ).fetchall():
        if customer_id in index and feature in counts:
            counts[feature][index[customer_id]] = tasks
    return counts
