"""The end-of-run summary: what arrived and what it cost per customer, and the latest week's
cost per successful task by feature, fallback rates by route and runaway workspaces."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class UsageSummary:
    rows: list[dict]
    files: dict
    quarantine_by_reason: list[tuple[str, str | None, int]]
    unpriced: list[tuple] = ()
    restatements: list[tuple] = ()
    week: list[
        tuple
    ] = ()  # (week_start, feature, tasks, success_rate, cost_per_successful_task_usd, wasted_share)
    fallbacks: list[tuple] = ()  # (original_route, tasks_started, fallback_rate, fallback_cost_usd)
    runaways: list[
        tuple
    ] = ()  # (workspace_id, customer_id, spend_date, reason, spend_usd, spend_ratio)


def read_summary(warehouse: Path) -> UsageSummary:
    """Read the summary marts from the warehouse (read-only: never blocks a writer for long)."""
    if not warehouse.exists():
        raise FileNotFoundError(
            f"{warehouse} does not exist yet: run `llm-margin materialize` first"
        )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(
            "select * from marts.mart_customer_usage_summary order by cost_usd desc, calls desc, customer_id"
        )
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        files = dict(
            zip(
                [
                    "files",
                    "records_read",
                    "records_loaded",
                    "records_quarantined",
                    "unreconciled_files",
                ],
                con.execute(
                    "select count(*), coalesce(sum(records_read), 0), coalesce(sum(records_loaded), 0), "
                    "coalesce(sum(records_quarantined), 0), count(*) filter (where not is_reconciled) "
                    "from audit.usage_event_file_loads"
                ).fetchall()[0],
                strict=True,
            )
        )
        reasons = con.execute(
            "select error_code, error_field, count(*) from audit.quarantined_usage_events "
            "group by 1, 2 order by 3 desc, 1, 2"
        ).fetchall()
        unpriced = con.execute(
            "select provider, model, unpriced_reason, calls from marts.mart_unpriced_usage "
            "order by calls desc limit 5"
        ).fetchall()
        restatements = con.execute(
            "select customer_id, strftime(month, '%Y-%m'), calls_restated, cost_before_usd, cost_after_usd, "
            "delta_usd from marts.mart_price_restatements order by abs(delta_usd) desc limit 10"
        ).fetchall()
        latest_week = "(select max(period_start) from marts.mart_feature_unit_economics where period_grain = 'week')"
        week = con.execute(
            "select period_start, feature, tasks, success_rate, cost_per_successful_task_usd, wasted_cost_share "
            f"from marts.mart_feature_unit_economics where period_grain = 'week' and period_start = {latest_week} "
            "order by cost_per_successful_task_usd desc nulls last, feature"
        ).fetchall()
        fallbacks = con.execute(
            "select original_route, tasks_started, fallback_rate, fallback_cost_usd "
            "from marts.mart_route_fallbacks_weekly "
            "where week_start = (select max(week_start) from marts.mart_route_fallbacks_weekly) "
            "and tasks_fallen_back > 0 order by fallback_rate desc, original_route limit 8"
        ).fetchall()
        runaways = con.execute(
            "select workspace_id, customer_id, spend_date, reason, spend_usd, spend_ratio "
            "from marts.mart_runaway_workspaces order by spend_date desc, spend_usd desc limit 5"
        ).fetchall()
    return UsageSummary(rows, files, reasons, unpriced, restatements, week, fallbacks, runaways)


def print_summary(summary: UsageSummary, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title="Usage and AI cost per customer, costliest first", title_justify="left")
    columns = [
        ("customer", "customer_id"),
        ("records loaded", "records_loaded"),
        ("quarantined", "records_quarantined"),
        ("deduplicated", "records_collapsed"),
        ("calls", "calls"),
        ("incomplete", "incomplete_calls"),
        ("prompt", "prompt_tokens"),
        ("cached", "cached_prompt_tokens"),
        ("completion", "completion_tokens"),
        ("AI cost (USD)", "cost_usd"),
        ("unpriced", "unpriced_calls"),
    ]
    for header, _ in columns:
        table.add_column(header, justify="left" if header == "customer" else "right")
    totals = {key: 0 for _, key in columns[1:]}
    for row in summary.rows:
        table.add_row(*[_fmt(row[key]) for _, key in columns])
        for key in totals:
            totals[key] += row[key] or 0
    table.add_section()
    table.add_row("all customers", *[_fmt(totals[key]) for _, key in columns[1:]], style="bold")
    console.print(table)
    f = summary.files
    console.print(
        f"{f['files']} landing files: {_fmt(f['records_read'])} records read = "
        f"{_fmt(f['records_loaded'])} loaded + {_fmt(f['records_quarantined'])} quarantined"
        + (
            ""
            if not f["unreconciled_files"]
            else f"  [red]({f['unreconciled_files']} files do not reconcile)[/red]"
        )
    )
    if summary.quarantine_by_reason:
        reasons = ", ".join(
            f"{code}{f'({field})' if field else ''}: {count}"
            for code, field, count in summary.quarantine_by_reason[:12]
        )
        console.print(f"quarantined by reason: {reasons}")
        console.print("details: select * from audit.quarantined_usage_events")
    if summary.week:
        table = Table(
            title=f"Cost per successful task by feature, week of {summary.week[0][0]}",
            title_justify="left",
        )
        for header in (
            "feature",
            "tasks",
            "success rate",
            "cost per successful task (USD)",
            "wasted share",
        ):
            table.add_column(header, justify="left" if header == "feature" else "right")
        for _, feature, tasks, rate, cost, wasted in summary.week:
            table.add_row(
                feature,
                _fmt(tasks),
                f"{rate:.1%}",
                "n/a" if cost is None else f"{cost:,.4f}",
                "n/a" if wasted is None else f"{wasted:.1%}",
            )
        console.print(table)
    if summary.fallbacks:
        routes = ", ".join(
            f"{route} {rate:.1%} of {started:,} tasks (${cost:,.2f})"
            for route, started, rate, cost in summary.fallbacks
        )
        console.print(f"fallbacks this week, by original route: {routes}")
    if summary.runaways:
        console.print(
            "[yellow]runaway workspaces[/yellow] (latest first; marts.mart_runaway_workspaces):"
        )
        for workspace, customer, day, reason, spend, ratio in summary.runaways:
            shown = "" if ratio is None else f", {ratio:.1f}x its baseline"
            console.print(f"  {day} {workspace} ({customer}): {reason}, ${spend:,.2f}{shown}")
    console.print(
        "budgets and caps are not tracked yet (who is near budget comes with the budget alerts)"
    )
    if summary.unpriced:
        missing = ", ".join(
            f"{p}/{m} ({reason}): {n:,} calls" for p, m, reason, n in summary.unpriced
        )
        console.print(f"[yellow]unpriced usage (cost unknown, not zero):[/yellow] {missing}")
    if summary.restatements:
        console.print(
            "[yellow]the last pricing file restated past costs[/yellow] (customer, month, calls: before → after):"
        )
        for customer, month, calls, before, after, delta in summary.restatements:
            console.print(
                f"  {customer} {month} {calls:,} calls: {_fmt(before)} → {_fmt(after)} ({delta:+,.2f} USD)"
            )


def _fmt(value) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)
