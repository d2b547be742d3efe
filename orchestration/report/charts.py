"""Inline SVG bar charts drawn by hand: no JavaScript, no network, no chart library."""

from __future__ import annotations

from html import escape

from orchestration.report.formatting import fmt

BAR_HEIGHT = 14
ROW_HEIGHT = 30
LABEL_WIDTH = 190
BAR_WIDTH = 360
VALUE_WIDTH = 170


def bar_chart(
    items: list[tuple[str, float | None, float | None]],
    kind: str,
    title: str,
    previous_label: str = "last week",
    current_label: str = "this week",
) -> str:
    """Horizontal bars: one per (label, value, previous); the previous value is a thin grey bar
    under it. Labels and values are escaped; an empty list draws nothing."""
    if not items:
        return ""
    values = [float(v) for _, value, prev in items for v in (value, prev) if v is not None]
    top = max([abs(v) for v in values] + [0.0]) or 1.0
    height = ROW_HEIGHT * len(items) + 28
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value, previous) in enumerate(items):
        y = 6 + i * ROW_HEIGHT
        short = label if len(label) <= 28 else label[:27] + "…"
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR_HEIGHT - 3}" text-anchor="end" '
            f'class="label">{escape(short)}</text>'
        )
        if value is not None:
            w = max(1.0, abs(float(value)) / top * BAR_WIDTH)
            css = "bar negative" if float(value) < 0 else "bar"
            parts.append(
                f'<rect x="{LABEL_WIDTH}" y="{y}" width="{w:.1f}" height="{BAR_HEIGHT}" class="{css}"/>'
            )
        if previous is not None:
            w = max(1.0, abs(float(previous)) / top * BAR_WIDTH)
            parts.append(
                f'<rect x="{LABEL_WIDTH}" y="{y + BAR_HEIGHT + 2}" width="{w:.1f}" height="5" '
                'class="bar previous"/>'
            )
        shown = fmt(value, kind) + ("" if previous is None else f" ({fmt(previous, kind)})")
        parts.append(
            f'<text x="{LABEL_WIDTH + BAR_WIDTH + 8}" y="{y + BAR_HEIGHT - 3}" class="value">'
            f"{escape(shown)}</text>"
        )
    legend_y = height - 8
    parts.append(
        f'<rect x="{LABEL_WIDTH}" y="{legend_y - 9}" width="10" height="10" class="bar"/>'
        f'<text x="{LABEL_WIDTH + 14}" y="{legend_y}" class="legend">{escape(current_label)}</text>'
        f'<rect x="{LABEL_WIDTH + 90}" y="{legend_y - 6}" width="10" height="5" class="bar previous"/>'
        f'<text x="{LABEL_WIDTH + 104}" y="{legend_y}" class="legend">{escape(previous_label)} '
        "(in brackets)</text>"
    )
    parts.append("</svg>")
    return "".join(parts)
