"""The plan calculator's printed tables (rich), every name from a file or the data escaped."""

from __future__ import annotations

import math

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orchestration.plans.calculator import PlanResult
from orchestration.plans.replay import Replay, Side

METHOD = (
    "Monte Carlo, numpy default_rng(seed): per simulated customer and feature, tasks per month "
    "from a lognormal fitted to median and p90 (rounded to whole tasks) or from a real customer "
    "of the named plan; each task's cost drawn with replacement from the feature's task shapes, "
    "priced by dbt (int_call_shapes_priced, the warehouse's pricing macros). "
    "docs/decisions.md, 'Plan-margin calculator'."
)


def usd(value: float) -> str:
    if math.isinf(value):
        return "∞"
    sign = "-" if value < 0 else ""
    shown = f"{abs(value):,.4f}" if abs(value) < 1 else f"{abs(value):,.2f}"
    return f"{sign}${shown}"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def print_plan(result: PlanResult, console: Console) -> None:
    plan = result.plan
    console.print(
        f"[bold]Plan {escape(plan.name)}[/bold]: {usd(plan.price_usd)} per customer per month, "
        f"target gross margin {pct(plan.target_gross_margin)}; {plan.customers:,} simulated "
        f"customers, seed {plan.seed}; prices in force on {result.price_date}"
    )
    if result.period is not None:
        console.print(f"observed traffic: {escape(result.period.describe())}")
    features = Table(title="Features", title_justify="left")
    for column in ("feature", "model", "tasks / month", "token sizes", "mean task cost"):
        features.add_column(column, justify="right" if column == "mean task cost" else "left")
    for f in result.features:
        tier = f" ({f.service_tier})" if f.service_tier else ""
        features.add_row(
            escape(f.feature),
            escape(f"{f.provider}/{f.model}{tier}"),
            escape(f"{f.tasks_source}; mean {f.mean_tasks:,.1f}"),
            escape(f.tokens_source),
            usd(f.mean_task_cost_usd),
        )
    console.print(features)
    outcome = result.outcome
    points = Table(title="AI cost and gross margin per customer-month", title_justify="left")
    for column in ("customer", "AI cost", "gross margin", "gross margin %"):
        points.add_column(column, justify="left" if column == "customer" else "right")
    for point in outcome.points:
        points.add_row(
            f"p{round(point.quantile * 100)}",
            usd(point.cost_usd),
            usd(point.gross_margin_usd),
            pct(point.gross_margin_pct),
        )
    console.print(points)
    breakeven = (
        "never (tasks cost nothing)"
        if math.isinf(outcome.breakeven_tasks)
        else f"{outcome.breakeven_tasks:,.0f} tasks/month"
    )
    console.print(
        f"mean task cost (the plan's task mix) {usd(outcome.mean_task_cost_usd)}: a customer "
        f"becomes unprofitable above {breakeven} ({pct(outcome.share_unprofitable)} of simulated "
        f"customers are; {pct(outcome.share_below_target)} are below the target margin)"
    )
    console.print(
        f"price for a {pct(plan.target_gross_margin)} gross margin at p90: "
        f"[bold]{usd(outcome.price_for_target_usd)}[/bold] per customer per month"
    )
    console.print(f"[dim]method: {escape(METHOD)}[/dim]")


def print_replay(result: Replay, console: Console) -> None:
    change = [f"price {usd(result.price_usd)} per customer-month"]
    if result.included_tasks is not None:
        change.append(f"{result.included_tasks:,} included tasks")
    console.print(
        f"[bold]Replay of plan {escape(result.plan_id)}[/bold] on its {result.customers:,} "
        f"customers of {escape(result.period.describe())}: {', '.join(change)}; target gross "
        f"margin {pct(result.target_gross_margin)}"
    )
    table = Table()
    for column in (
        "",
        "revenue",
        "AI cost",
        "gross margin",
        "gross margin %",
        "below target",
        "unprofitable",
    ):
        table.add_column(column, justify="left" if not column else "right")
    for label, side in (("before (actual)", result.before), ("after", result.after)):
        table.add_row(label, *_side(side))
    console.print(table)
    notes = []
    if result.included_tasks is not None:
        notes.append(
            f"{result.tasks_dropped:,} tasks beyond the cap dropped (their AI cost with them)"
        )
    if result.revenue_unknown:
        notes.append(f"{result.revenue_unknown:,} customers left out: their revenue is not in USD")
    if result.unpriced_calls:
        notes.append(
            f"{result.unpriced_calls:,} of their calls are unpriced: AI costs are lower bounds"
        )
    for note in notes:
        console.print(escape(note))
    console.print(
        "[dim]method: revenue, AI cost and tasks from marts.mart_customer_monthly_margin (and "
        "each task's cost from marts.fct_tasks for a cap); after = the price per customer-month, "
        "AI cost of the first N tasks by start time. docs/decisions.md, 'Plan-margin "
        "calculator'.[/dim]"
    )


def _side(side: Side) -> list[str]:
    return [
        usd(side.revenue_usd),
        usd(side.ai_cost_usd),
        usd(side.gross_margin_usd),
        pct(side.gross_margin_pct),
        f"{side.below_target:,}",
        f"{side.unprofitable:,}",
    ]
