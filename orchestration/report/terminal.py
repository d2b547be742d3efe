"""The founder report in the terminal: the same sections as the HTML file, as rich tables."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestration.report.formatting import fmt, trend
from orchestration.report.queries import INT, TEXT, USD, WeeklyReport

_STYLE = {"up": "red", "down": "green", "": ""}


def print_report(report: WeeklyReport, console: Console | None = None) -> None:
    console = console or Console()
    week = report.week
    console.print(
        Text(
            f"llm-margin founder report {week} ({week.start:%a %d %b %Y} to {week.end:%a %d %b %Y}, UTC), "
            f"compared with {report.previous}",
            style="bold",
        )
    )
    if not report.has_data:
        span = (
            f"usage data covers {report.first_day} to {report.last_day}"
            if report.first_day
            else "the warehouse holds no usage data at all"
        )
        console.print(Text(f"No usage data in {week}: {span}.", style="yellow"))
    else:
        if report.is_partial:
            first, last = report.covered
            console.print(
                Text(
                    f"Partial week: data covers {first:%a %d %b} to {last:%a %d %b} only.",
                    style="yellow",
                )
            )
        if report.is_previous_partial:
            console.print(
                Text(
                    f"The previous week ({report.previous}) is partial or empty in the data.",
                    style="yellow",
                )
            )
        h = report.headline
        console.print(
            f"AI cost {fmt(h['cost_usd'], USD)} (last week {fmt(h['previous_cost_usd'], USD)}), "
            f"{fmt(h['calls'], INT)} calls, {fmt(h['tasks'], INT)} tasks started "
            f"({fmt(h['successful_tasks'], INT)} successful)"
        )
    for section in report.sections:
        if section.unavailable:
            console.print(
                Text(f"{section.title}: not available: {section.unavailable}", style="yellow")
            )
            continue
        if not section.rows:
            console.print(Text(f"{section.title}: nothing this week.", style="dim"))
            continue
        table = Table(title=section.title, title_justify="left")
        for column in section.columns:
            table.add_column(column.header, justify="left" if column.kind == TEXT else "right")
        for row in section.rows:
            table.add_row(
                *[
                    Text(fmt(row.get(c.key), c.kind), style=_STYLE[trend(row.get(c.key), c.kind)])
                    for c in section.columns
                ]
            )
        console.print(table)
        for note in section.notes:
            console.print(Text(note, style="dim"))
    _print_health(report, console)


def _print_health(report: WeeklyReport, console: Console) -> None:
    health = report.health
    files = health.get("files")
    if files:
        line = (
            f"{files['files']:,} landing files: {files['records_read']:,} records read = "
            f"{files['records_loaded']:,} loaded + {files['records_quarantined']:,} quarantined"
        )
        if files["unreconciled_files"]:
            line += f" ({files['unreconciled_files']} files do not reconcile)"
        console.print(Text(line))
    if health.get("quarantine"):
        reasons = ", ".join(
            f"{code}{f'({field})' if field else ''}: {count:,}"
            for code, field, count in health["quarantine"][:12]
        )
        console.print(Text(f"quarantined by reason: {reasons}"))
        console.print(Text("details: select * from audit.quarantined_usage_events", style="dim"))
    if health.get("runaways"):
        console.print(
            Text("runaway workspaces this week (marts.mart_runaway_workspaces):", style="yellow")
        )
        for workspace, customer, day, reason, spend, ratio in health["runaways"]:
            shown = "" if ratio is None else f", {float(ratio):.1f}x its baseline"
            console.print(
                Text(f"  {day} {workspace} ({customer}): {reason}, {fmt(spend, USD)}{shown}")
            )
    if health.get("restatements"):
        console.print(
            Text(
                "the last pricing file restated past costs (customer, month, calls: before → after):",
                style="yellow",
            )
        )
        for customer, month, calls, before, after, delta in health["restatements"]:
            console.print(
                Text(
                    f"  {customer} {month} {calls:,} calls: {fmt(before, USD)} → {fmt(after, USD)} "
                    f"({fmt(delta, 'delta_usd')})"
                )
            )
