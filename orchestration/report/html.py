"""The founder report as one self-contained HTML file: inline CSS, inline SVG, no scripts.

Every value from the data is HTML-escaped. Each table cell carries its exact value in
``data-value`` (and its column in ``data-col``) so the numbers can be checked or scraped."""

from __future__ import annotations

from html import escape
from pathlib import Path

from orchestration.report.charts import bar_chart
from orchestration.report.formatting import fmt, trend
from orchestration.report.queries import INT, TEXT, USD, Section, WeeklyReport

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
td.text,th.text{text-align:left}td.up{color:#b42318}td.down{color:#067647}.note{color:#5b6575;font-size:.85rem}
.unavailable{color:#8a5a00;background:#fff8e6;padding:.5rem .8rem;border-radius:6px}
svg.chart{max-width:100%;height:auto;font-size:12px}svg .bar{fill:#3b6fd8}svg .bar.negative{fill:#c4320a}
svg .bar.previous{fill:#aab4c3}svg .label,svg .value,svg .legend{fill:#1d2430}ul{margin:.3rem 0}
"""


def _cell(value, kind: str, key: str) -> str:
    raw = "" if value is None else str(value)
    css = " ".join(c for c in ("text" if kind == TEXT else "", trend(value, kind)) if c)
    return (
        f'<td data-col="{escape(key)}" data-value="{escape(raw)}"'
        + (f' class="{css}"' if css else "")
        + f">{escape(fmt(value, kind))}</td>"
    )


def _section(section: Section) -> str:
    out = [
        f'<section id="{escape(section.key)}">',
        f"<h2>{escape(section.title)}</h2>",
        f'<p class="question">{escape(section.question)}</p>',
    ]
    if section.unavailable:
        out.append(f'<p class="unavailable">Not available: {escape(section.unavailable)}</p>')
        out.append("</section>")
        return "".join(out)
    if not section.rows:
        out.append('<p class="note">Nothing to show for this week.</p>')
    else:
        chart = section.chart
        if chart is not None:
            out.append(
                bar_chart(
                    [
                        (
                            str(row[chart.label]),
                            row[chart.value],
                            row[chart.previous] if chart.previous else None,
                        )
                        for row in section.rows
                    ],
                    chart.kind,
                    section.title,
                    chart.previous_label,
                    chart.current_label,
                )
            )
        head = "".join(
            f'<th class="{"text" if c.kind == TEXT else "num"}">{escape(c.header)}</th>'
            for c in section.columns
        )
        body = "".join(
            "<tr>"
            + "".join(_cell(row.get(c.key), c.kind, c.key) for c in section.columns)
            + "</tr>"
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
    h = report.headline
    if not h:
        return ""

    def rate(ok, total):
        return None if not total else ok / total

    cards = [
        ("AI cost", fmt(h["cost_usd"], USD), f"last week {fmt(h['previous_cost_usd'], USD)}"),
        ("calls", fmt(h["calls"], INT), f"last week {fmt(h['previous_calls'], INT)}"),
        ("tasks started", fmt(h["tasks"], INT), f"last week {fmt(h['previous_tasks'], INT)}"),
        (
            "task success rate",
            fmt(rate(h["successful_tasks"], h["tasks"]), "pct"),
            f"last week {fmt(rate(h['previous_successful_tasks'], h['previous_tasks']), 'pct')}",
        ),
    ]
    return (
        '<div class="cards" id="headline">'
        + "".join(
            f'<div class="card"><div class="k">{escape(k)}</div><div class="v">{escape(v)}</div>'
            f'<div class="k">{escape(sub)}</div></div>'
            for k, v, sub in cards
        )
        + "</div>"
    )


def _health(report: WeeklyReport) -> str:
    health = report.health
    out = ['<section id="data-health"><h2>Data health</h2>']
    files = health.get("files")
    if files:
        line = (
            f"{files['files']:,} landing files: {files['records_read']:,} records read = "
            f"{files['records_loaded']:,} loaded + {files['records_quarantined']:,} quarantined"
        )
        if files["unreconciled_files"]:
            line += f" ({files['unreconciled_files']} files do not reconcile)"
        out.append(f"<p>{escape(line)}</p>")
    if health.get("quarantine"):
        items = "".join(
            f"<li>{escape(code)}{escape(f' ({field})' if field else '')}: {count:,}</li>"
            for code, field, count in health["quarantine"][:12]
        )
        out.append(
            f"<p>Quarantined by reason (audit.quarantined_usage_events):</p><ul>{items}</ul>"
        )
    if health.get("runaways"):
        items = "".join(
            f"<li>{escape(str(day))} {escape(ws)} ({escape(str(customer))}): {escape(reason)}, "
            f"{escape(fmt(spend, USD))}"
            + ("" if ratio is None else escape(f", {float(ratio):.1f}x its baseline"))
            + "</li>"
            for ws, customer, day, reason, spend, ratio in health["runaways"]
        )
        out.append(
            f"<p>Runaway workspaces this week (marts.mart_runaway_workspaces):</p><ul>{items}</ul>"
        )
    else:
        out.append("<p>No runaway workspace this week.</p>")
    if health.get("restatements"):
        items = "".join(
            f"<li>{escape(customer)} {escape(month)}, {calls:,} calls: {escape(fmt(before, USD))} → "
            f"{escape(fmt(after, USD))} ({escape(fmt(delta, 'delta_usd'))})</li>"
            for customer, month, calls, before, after, delta in health["restatements"]
        )
        out.append(f"<p>The last pricing file restated past costs:</p><ul>{items}</ul>")
    out.append("</section>")
    return "".join(out)


def render_html(report: WeeklyReport) -> str:
    week = report.week
    title = f"llm-margin founder report {week}"
    sections = "".join(_section(s) for s in report.sections)
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
