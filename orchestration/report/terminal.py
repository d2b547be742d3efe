"""The founder report in the terminal: the same sections as the HTML file, as rich tables.

Names are shown where the data hold ids (with the id in a dim column beside), codes in plain
words, changes coloured by meaning (green good, red bad) with the headline's arrows. No path of
the machine is printed: the report text is as shareable as the HTML file."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestration.report.formatting import (
    arrow,
    fmt,
    meaning,
    provider_gap_line,
    runaway_line,
    small_runaways_line,
)
from orchestration.report.queries import (
    BUDGET_STATE,
    TEXT,
    UNPRICED_REASON,
    USD,
    Section,
    WeeklyReport,
)
from orchestration.report.wording import FURTHER_READING, quarantine_reason

STYLE = {"good": "green", "bad": "red", "warn": "yellow", "": ""}


def _headline(report: WeeklyReport) -> Text:
    line = Text()
    for i, figure in enumerate(report.figures):
        if i:
            line.append(" · ")
        line.append(f"{figure.label} ", style="dim")
        line.append(fmt(figure.value, figure.kind), style="bold")
        if figure.change is not None:
            mark = arrow(figure.change, figure.change_kind)
            shown = f"{mark} {fmt(figure.change, figure.change_kind)}" if mark else "unchanged"
            style = STYLE[meaning(figure.change, figure.change_kind, figure.better)]
            line.append(f" {shown}", style=style)
    line.append(" (vs last week)", style="dim")
    return line


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
        console.print(_headline(report))
    for section in report.sections:
        print_section(section, console)
    _print_health(report, console)
    console.print(Text(FURTHER_READING, style="dim"))


def print_section(section: Section, console: Console) -> None:
    """One section as a rich table (or the one line that says why it has none), then its notes."""
    if section.unavailable:
        console.print(
            Text(f"{section.title}: not available: {section.unavailable}", style="yellow")
        )
        return
    if not section.rows:
        console.print(Text(f"{section.title}: {section.empty}", style="dim"))
        return
    table = Table(title=section.title, title_justify="left")
    cells = []
    for column in section.columns:
        table.add_column(
            column.header,
            justify="left" if column.kind in (TEXT, BUDGET_STATE, UNPRICED_REASON) else "right",
        )
        cells.append((column, False))
        if column.name_key and column.terminal_id:
            table.add_column(f"{column.header} id", justify="left", style="dim")
            cells.append((column, True))
    for row in section.rows:
        values = []
        for column, is_id in cells:
            value = row.get(column.key)
            if is_id:  # beside a name; an id billing does not name is in the name column
                named = row.get(column.name_key) is not None and value is not None
                values.append(Text(str(value) if named else ""))
            elif column.name_key and row.get(column.name_key) is not None:
                values.append(Text(str(row[column.name_key])))
            else:
                style = STYLE[meaning(value, column.kind, column.better)]
                values.append(Text(fmt(value, column.kind), style=style))
        table.add_row(*values)
    console.print(table)
    for note in section.notes:
        console.print(Text(note, style="dim"))


def _print_health(report: WeeklyReport, console: Console) -> None:
    health = report.health
    files = health.get("files")
    if files:
        line = (
            f"All loads so far: {files['files']:,} landing files, {files['records_read']:,} "
            f"records read = {files['records_loaded']:,} loaded + "
            f"{files['records_quarantined']:,} quarantined"
        )
        if files["unreconciled_files"]:
            line += f" ({files['unreconciled_files']} files do not reconcile)"
        console.print(Text(line + "."))
    if health.get("quarantine"):
        console.print(Text("Quarantined records by reason (kept, not loaded):"))
        for code, field, count in health["quarantine"][:12]:
            where = f" (field {field})" if field else ""
            console.print(Text(f"  {count:,} × {quarantine_reason(code)}{where}"))
        console.print(Text("details: select * from audit.quarantined_usage_events", style="dim"))
    for row in health.get("provider_gaps", []):
        console.print(Text(provider_gap_line(row), style="yellow"))
    if health.get("provider_gaps"):
        console.print(
            Text("details: select * from marts.mart_provider_daily_reconciliation", style="dim")
        )
    threshold = fmt(health.get("runaway_min_spend_usd"), USD)
    small = small_runaways_line(health)
    if health.get("runaways"):
        console.print(
            Text(
                f"Runaway workspaces this week, {threshold} or more that day "
                "(marts.mart_runaway_workspaces):",
                style="yellow",
            )
        )
        for row in health["runaways"]:
            console.print(Text(f"  {runaway_line(row)}"))
        more = health.get("runaways_not_shown", 0)
        if more:
            console.print(Text(f"  {more:,} more of {threshold} or more.", style="dim"))
        if small:
            console.print(Text(small, style="dim"))
    else:
        text = f"No workspace ran away this week with a day's spend of {threshold} or more."
        console.print(Text(text + (f" {small}" if small else "")))
    if health.get("restatements"):
        console.print(
            Text(
                "The last pricing file restated past costs (customer, month, calls: before → after):",
                style="yellow",
            )
        )
        for row in health["restatements"]:
            console.print(
                Text(
                    f"  {row['customer_label']} {row['month']} {row['calls_restated']:,} calls: "
                    f"{fmt(row['cost_before_usd'], USD)} → {fmt(row['cost_after_usd'], USD)} "
                    f"({fmt(row['delta_usd'], 'delta_usd')})"
                )
            )
