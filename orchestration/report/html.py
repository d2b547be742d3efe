"""The founder report as one self-contained HTML file: inline CSS, inline SVG, no scripts,
nothing fetched (no fonts, images, links to load): it renders the same offline and when mailed.

Every value from the data is HTML-escaped. Each table cell carries its exact value in
``data-value`` (and its column in ``data-col``) so the numbers can be checked or scraped; a
name is shown where the data hold an id, with the id in ``data-value`` and on hover (``title``).
Changes are coloured by meaning (class ``good`` / ``bad``: margin up is good, cost up is bad),
never by sign alone."""

from __future__ import annotations

from html import escape
from pathlib import Path

from orchestration.report.charts import Bar, bar_chart
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
    DELTA_USD,
    TEXT,
    UNPRICED_REASON,
    USD,
    Column,
    Section,
    WeeklyReport,
)
from orchestration.report.wording import FURTHER_READING, quarantine_reason, runaway_reason

CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2rem auto;max-width:1100px;
color:#1d2430;padding:0 1rem;line-height:1.4}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #d8dee8;
padding-bottom:.3rem}.sub{color:#5b6575;margin-top:0}.question{color:#5b6575;margin:.2rem 0 .8rem}
.banner{background:#fff4d6;border:1px solid #e8c66a;padding:.6rem .9rem;border-radius:6px}
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1.2rem 0}.card{border:1px solid #d8dee8;border-radius:8px;
padding:.7rem 1rem;min-width:180px}.card .v{font-size:1.4rem;font-weight:600}.card .k{color:#5b6575;font-size:.85rem}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.6rem 0}th,td{padding:.3rem .5rem;
border-bottom:1px solid #eef1f5;text-align:right;white-space:nowrap}th{background:#f5f7fa;font-weight:600}
td.text,th.text{text-align:left}.bad{color:#b42318}.good{color:#067647}.warn{color:#8a5a00}
.note{color:#5b6575;font-size:.85rem}.empty{color:#5b6575}
.unavailable{color:#8a5a00;background:#fff8e6;padding:.5rem .8rem;border-radius:6px}
.card .change{font-size:.9rem;font-weight:600}.card .change.neutral{color:#5b6575}
svg.chart{max-width:100%;height:auto;font-size:12px}svg .bar{fill:#3b6fd8}svg .bar.negative,
svg .bar.over{fill:#c4320a}svg .bar.previous{fill:#aab4c3}svg text{fill:#1d2430}
svg .grid{stroke:#e3e7ee;stroke-width:1}svg .grid.zero{stroke:#5b6575}svg .tick,svg .axis-title{fill:#5b6575}
svg .reference{stroke:#b42318;stroke-width:2;stroke-dasharray:5 3}svg .reference-label{fill:#b42318;font-weight:600}
svg .marker{stroke:#1d2430;stroke-width:2}ul{margin:.3rem 0}
"""


CODE_KINDS = (BUDGET_STATE, UNPRICED_REASON)  # codes shown in plain words, the code on hover


def _cell(row: dict, column: Column) -> str:
    value = row.get(column.key)
    kind = column.kind
    raw = "" if value is None else str(value)
    shown = fmt(value, kind)
    title = ""
    name = row.get(column.name_key) if column.name_key else None
    if value is not None and name is not None and str(name) != raw:
        shown, title = str(name), raw
    elif value is not None and kind in CODE_KINDS and shown != raw:
        title = raw
    css = " ".join(
        c
        for c in (
            "text" if kind in (TEXT, *CODE_KINDS) else "",
            meaning(value, kind, column.better),
        )
        if c
    )
    return (
        f'<td data-col="{escape(column.key)}" data-value="{escape(raw)}"'
        + (f' class="{css}"' if css else "")
        + (f' title="{escape(title)}"' if title else "")
        + f">{escape(shown)}</td>"
    )


def _chart(section: Section) -> str:
    chart = section.chart
    if chart is None:
        return ""
    bars = [
        Bar(
            label=str(row.get(chart.label) or row.get(chart.hint or "") or "–"),
            value=row[chart.value],
            previous=row[chart.previous] if chart.previous else None,
            hint=str(row[chart.hint]) if chart.hint and row.get(chart.hint) is not None else None,
            marker=row.get(chart.marker) if chart.marker else None,
        )
        for row in section.rows
    ]
    return bar_chart(
        bars,
        chart.kind,
        section.title,
        chart.axis,
        chart.previous_label,
        chart.current_label,
        chart.reference,
        chart.reference_label,
        chart.marker_label,
    )


def section_html(section: Section) -> str:
    """One section: its title, question, chart, table (every value escaped) and notes."""
    out = [
        f'<section id="{escape(section.key)}">',
        f"<h2>{escape(section.title)}</h2>",
        f'<p class="question">{escape(section.question)}</p>',
    ]
    if section.unavailable:
        out.append(f'<p class="unavailable">Not available: {escape(section.unavailable)}</p>')
    elif not section.rows:
        # One true sentence: the notes explain rows, and there are none.
        out.append(f'<p class="empty">{escape(section.empty)}</p>')
    else:
        out.append(_chart(section))
        head = "".join(
            f'<th class="{"text" if c.kind in (TEXT, *CODE_KINDS) else "num"}">{escape(c.header)}</th>'
            for c in section.columns
        )
        body = "".join(
            "<tr>" + "".join(_cell(row, c) for c in section.columns) + "</tr>"
            for row in section.rows
        )
        out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        out += [f'<p class="note">{escape(note)}</p>' for note in section.notes]
    out.append("</section>")
    return "".join(out)


def _coverage(report: WeeklyReport) -> str:
    week = report.week
    if not report.has_data:
        span = (
            f"Usage data covers {report.first_day} to {report.last_day}."
            if report.first_day
            else "The warehouse holds no usage data at all."
        )
        return f'<p class="banner" id="no-data">No usage data in {escape(str(week))}. {escape(span)}</p>'
    parts = []
    if report.is_partial:
        first, last = report.covered
        parts.append(
            f"Partial week: usage data covers {first:%a %d %b} to {last:%a %d %b} only, "
            "so totals are not a full week's."
        )
    if report.is_previous_partial:
        parts.append(
            f"The previous week ({report.previous}) is partial or empty in the data: "
            "read its comparisons with care."
        )
    return "".join(f'<p class="banner partial">{escape(p)}</p>' for p in parts)


def _cards(report: WeeklyReport) -> str:
    figures = report.figures
    if not figures:
        return ""
    cards = []
    for figure in figures:
        if figure.change is None:
            change = '<div class="change neutral">no comparison</div>'
        else:
            css = meaning(figure.change, figure.change_kind, figure.better) or "neutral"
            mark = arrow(figure.change, figure.change_kind)
            shown = fmt(figure.change, figure.change_kind)
            text = f"{mark} {shown}" if mark else "unchanged"
            change = f'<div class="change {css}">{escape(text)} vs last week</div>'
        cards.append(
            f'<div class="card"><div class="k">{escape(figure.label)}</div>'
            f'<div class="v">{escape(fmt(figure.value, figure.kind))}</div>{change}'
            f'<div class="k">last week {escape(fmt(figure.previous, figure.kind))}</div></div>'
        )
    return '<div class="cards" id="headline">' + "".join(cards) + "</div>"


def _health(report: WeeklyReport) -> str:
    health = report.health
    out = ['<section id="data-health"><h2>Data health</h2>']
    files = health.get("files")
    if files:
        line = (
            f"All loads so far: {files['files']:,} landing files, {files['records_read']:,} "
            f"records read = {files['records_loaded']:,} loaded + "
            f"{files['records_quarantined']:,} quarantined"
        )
        if files["unreconciled_files"]:
            line += f" ({files['unreconciled_files']} files do not reconcile)"
        out.append(f"<p>{escape(line)}.</p>")
    if health.get("quarantine"):
        items = "".join(
            f'<li title="{escape(code)}">{count:,} × {escape(quarantine_reason(code))}'
            f"{escape(f' (field {field})' if field else '')}</li>"
            for code, field, count in health["quarantine"][:12]
        )
        out.append(
            "<p>Quarantined records by reason (kept, not loaded; every one is listed in "
            f"audit.quarantined_usage_events):</p><ul>{items}</ul>"
        )
    if health.get("provider_gaps"):
        items = "".join(
            f'<li title="{escape(row["provider"])}">{escape(provider_gap_line(row))}</li>'
            for row in health["provider_gaps"]
        )
        out.append(
            "<p>The providers' own reports for yesterday differ from what we computed (per model: "
            f"marts.mart_provider_daily_reconciliation):</p><ul>{items}</ul>"
        )
    out.append(_runaways(health))
    if health.get("restatements"):
        items = "".join(
            f'<li title="{escape(str(row["customer_id"]))}">{escape(str(row["customer_label"]))} '
            f"{escape(row['month'])}, {row['calls_restated']:,} calls: "
            f"{escape(fmt(row['cost_before_usd'], USD))} → {escape(fmt(row['cost_after_usd'], USD))} "
            f"({escape(fmt(row['delta_usd'], DELTA_USD))})</li>"
            for row in health["restatements"]
        )
        out.append(f"<p>The last pricing file restated past costs:</p><ul>{items}</ul>")
    out.append("</section>")
    return "".join(out)


def _runaways(health: dict) -> str:
    listed = health.get("runaways", [])
    small = small_runaways_line(health)
    threshold = fmt(health.get("runaway_min_spend_usd"), USD)
    if not listed:
        text = f"No workspace ran away this week with a day's spend of {threshold} or more."
        return f"<p>{escape(text)}{escape(' ' + small if small else '')}</p>"
    items = "".join(
        f'<li title="{escape(row["workspace_id"])}: {escape(runaway_reason(row["reason"]))}">'
        f"{escape(runaway_line(row))}</li>"
        for row in listed
    )
    more = health.get("runaways_not_shown", 0)
    if more:
        items += f"<li>{more:,} more of {escape(threshold)} or more (the largest are listed).</li>"
    return (
        f"<p>Runaway workspaces this week (a day's spend far above the workspace's usual day, or "
        f"runaway tasks), {escape(threshold)} or more that day:</p><ul>{items}</ul>"
        + (f'<p class="note">{escape(small)}</p>' if small else "")
    )


def render_html(report: WeeklyReport) -> str:
    week = report.week
    title = f"llm-margin founder report {week}"
    sections = "".join(section_html(s) for s in report.sections)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f'<p class="sub">ISO week {escape(str(week))}: {week.start:%a %d %b %Y} to '
        f"{week.end:%a %d %b %Y} (UTC), compared with {escape(str(report.previous))}. "
        # the file's name within the data directory, never a machine path: the report is sent around
        f"Read from the serving copy ({escape(report.source.parent.name)}/"
        f"{escape(report.source.name)}).</p>"
        + _coverage(report)
        + _cards(report)
        + sections
        + _health(report)
        + f'<p class="note further">{escape(FURTHER_READING)}</p>'
        + "</body></html>\n"
    )


def write_html(report: WeeklyReport, reports_dir: Path) -> Path:
    """Write ``founder-report-YYYY-Www.html`` atomically (a reader never sees half a file)."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / f"founder-report-{report.week}.html"
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(render_html(report), encoding="utf-8")
    temp.replace(path)
    return path
