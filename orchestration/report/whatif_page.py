"""A what-if comparison in the terminal and as one self-contained HTML page, with the weekly
report's sections, formatting and stylesheet (every value from the data HTML-escaped)."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

from rich.console import Console
from rich.text import Text

from orchestration.report.html import CSS, section_html
from orchestration.report.terminal import print_section
from orchestration.report.whatif import WhatIfReport, sections


def _period(report: WhatIfReport) -> str:
    period = report.period
    if period is None:
        return "no calls in the scenario's period"
    first, after = period
    return f"real traffic from {first} up to {after} (exclusive)"


def print_whatif(report: WhatIfReport, console: Console | None = None) -> None:
    console = console or Console()
    console.print(Text(f"What if: {report.scenario_id}", style="bold"))
    if report.description:
        console.print(Text(report.description))
    console.print(Text(f"Replayed: {_period(report)}. Prices: {report.price_basis}."))
    console.print(Text(report.summary()))
    for section in sections(report):
        print_section(section, console)
    console.print(Text("Assumptions:"))
    for sentence in report.assumptions:
        console.print(Text(f"  - {sentence}"))


def render_whatif_html(report: WhatIfReport) -> str:
    title = f"llm-margin what-if: {report.scenario_id}"
    source = f" (scenario file {report.scenario_file})" if report.scenario_file else ""
    assumptions = "".join(f"<li>{escape(s)}</li>" for s in report.assumptions)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # twelve columns per feature and route: wider than the weekly report's 1100px
        f"<title>{escape(title)}</title><style>{CSS}body{{max-width:1500px}}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        + (f'<p class="sub">{escape(report.description)}</p>' if report.description else "")
        + f'<p class="sub" id="basis">Replayed: {escape(_period(report))}{escape(source)}. '
        f"Prices: {escape(report.price_basis)}.</p>"
        f'<p id="summary">{escape(report.summary())}</p>'
        + "".join(section_html(s) for s in sections(report))
        + '<section id="assumptions"><h2>Assumptions</h2>'
        + (f"<ul>{assumptions}</ul>" if assumptions else '<p class="empty">None recorded.</p>')
        + "</section></body></html>\n"
    )


def whatif_file_name(scenario_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", scenario_id).lstrip(".") or "scenario"
    return f"whatif-{safe}.html"


def write_whatif_html(report: WhatIfReport, reports_dir: Path) -> Path:
    """Write ``whatif-<scenario>.html`` atomically; returns its path."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / whatif_file_name(report.scenario_id)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(render_whatif_html(report), encoding="utf-8")
    temp.replace(path)
    return path
