"""Inline SVG bar charts drawn by hand: no JavaScript, no network, no chart library.

Every chart has a labelled scale: gridlines at round values with their labels under the bars,
and what the scale measures written beneath. The scale starts at zero (negative values, a
negative margin, extend it to the left of a zero line) and reaches a round value past the
largest bar, so a 6% rate is a short bar on a 0-8% scale, not a full one. A chart with a
reference (a cap) draws it as a labelled line and always shows it: 90% of a cap stops short of
the 100% line, and a bar at or past it is drawn as over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from orchestration.report.formatting import fmt
from orchestration.report.queries import PCT, PERCENT, USD, USD4

BAR_HEIGHT = 14
ROW_HEIGHT = 30
LABEL_WIDTH = 230
PLOT_WIDTH = 520
VALUE_WIDTH = 190
TOP = 22  # room for the reference line's label
AXIS_HEIGHT = 34  # tick labels and the axis title under the bars
LEGEND_HEIGHT = 22


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    previous: float | None = None
    hint: str | None = None  # shown on hover with the label (an id)
    marker: float | None = None  # a per-row tick (a target)


def nice_scale(low: float, high: float, ticks: int = 5) -> tuple[float, float, float]:
    """(start, end, step): round bounds around [low, high] (which include 0) with about
    ``ticks`` intervals of 1, 2, 2.5 or 5 times a power of ten."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))
    start = math.floor(low / step + 1e-9) * step
    end = math.ceil(high / step - 1e-9) * step
    return start, end, step


def tick_label(value: float, kind: str, step: float) -> str:
    """A tick's label with as many decimals as the step needs."""
    if kind == PCT:
        value, step = value * 100, step * 100
    decimals = 0
    while decimals < 6 and abs(round(step, decimals) - step) > step * 1e-6:
        decimals += 1
    if abs(value) < step / 1e6:
        value = 0.0
    text = f"{abs(value):,.{decimals}f}"
    sign = "-" if value < 0 else ""
    if kind in (USD, USD4):
        return f"{sign}${text}"
    if kind in (PCT, PERCENT):
        return f"{sign}{text}%"
    return f"{sign}{text}"


def bar_chart(
    bars: list[Bar],
    kind: str,
    title: str,
    axis: str,
    previous_label: str = "last week",
    current_label: str = "this week",
    reference: float | None = None,
    reference_label: str = "",
    marker_label: str = "",
) -> str:
    """Horizontal bars, one per row, with last week's value as a thin grey bar under each.
    Labels and values are escaped; an empty list draws nothing."""
    if not bars:
        return ""
    values = [
        float(v) for bar in bars for v in (bar.value, bar.previous, bar.marker) if v is not None
    ]
    if reference is not None:
        values.append(float(reference))
    start, end, step = nice_scale(min(values + [0.0]), max(values + [0.0]))

    def x(value: float) -> float:
        return LABEL_WIDTH + (float(value) - start) / (end - start) * PLOT_WIDTH

    rows_height = ROW_HEIGHT * len(bars)
    plot_bottom = TOP + rows_height
    height = plot_bottom + AXIS_HEIGHT + LEGEND_HEIGHT
    width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}">',
        f"<title>{escape(title)}</title>",
        '<g class="axis">',
    ]
    count = round((end - start) / step)
    for i in range(count + 1):
        tick = start + i * step
        tx = x(tick)
        css = "grid zero" if abs(tick) < step / 1e6 else "grid"
        parts.append(
            f'<line x1="{tx:.1f}" y1="{TOP - 4}" x2="{tx:.1f}" y2="{plot_bottom}" class="{css}"/>'
            f'<text x="{tx:.1f}" y="{plot_bottom + 13}" text-anchor="middle" class="tick">'
            f"{escape(tick_label(tick, kind, step))}</text>"
        )
    parts.append(
        f'<text x="{LABEL_WIDTH + PLOT_WIDTH / 2:.1f}" y="{plot_bottom + 28}" '
        f'text-anchor="middle" class="axis-title">{escape(axis)}</text></g>'
    )
    for i, bar in enumerate(bars):
        y = TOP + i * ROW_HEIGHT
        short = bar.label if len(bar.label) <= 32 else bar.label[:31] + "…"
        hover = bar.label + (f" ({bar.hint})" if bar.hint and bar.hint != bar.label else "")
        parts.append(
            f'<g class="row"><title>{escape(hover)}: {escape(fmt(bar.value, kind))}'
            f"{escape('' if bar.previous is None else f', {previous_label} ' + fmt(bar.previous, kind))}"
            "</title>"
        )
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR_HEIGHT - 3}" text-anchor="end" '
            f'class="label">{escape(short)}</text>'
        )
        if bar.value is not None:
            value = float(bar.value)
            left, right = sorted((x(0.0), x(value)))
            css = "bar"
            if value < 0:
                css = "bar negative"
            elif reference is not None and value >= reference:
                css = "bar over"
            parts.append(
                f'<rect x="{left:.1f}" y="{y}" width="{max(1.0, right - left):.1f}" '
                f'height="{BAR_HEIGHT}" class="{css}"/>'
            )
        if bar.previous is not None:
            left, right = sorted((x(0.0), x(float(bar.previous))))
            parts.append(
                f'<rect x="{left:.1f}" y="{y + BAR_HEIGHT + 2}" width="{max(1.0, right - left):.1f}" '
                'height="5" class="bar previous"/>'
            )
        if bar.marker is not None:
            mx = x(float(bar.marker))
            parts.append(
                f'<line x1="{mx:.1f}" y1="{y - 3}" x2="{mx:.1f}" y2="{y + BAR_HEIGHT + 8}" '
                'class="marker"/>'
            )
        shown = fmt(bar.value, kind) + (
            "" if bar.previous is None else f" ({fmt(bar.previous, kind)})"
        )
        parts.append(
            f'<text x="{LABEL_WIDTH + PLOT_WIDTH + 10}" y="{y + BAR_HEIGHT - 3}" class="value">'
            f"{escape(shown)}</text></g>"
        )
    if reference is not None:
        rx = x(float(reference))
        parts.append(
            f'<line x1="{rx:.1f}" y1="{TOP - 8}" x2="{rx:.1f}" y2="{plot_bottom}" class="reference"/>'
            f'<text x="{rx:.1f}" y="{TOP - 11}" text-anchor="middle" class="reference-label">'
            f"{escape(reference_label)} {escape(tick_label(float(reference), kind, step))}</text>"
        )
    legend_y = height - 6
    lx = LABEL_WIDTH
    parts.append(
        f'<g class="legend"><rect x="{lx}" y="{legend_y - 9}" width="10" height="10" class="bar"/>'
        f'<text x="{lx + 14}" y="{legend_y}">{escape(current_label)}</text>'
        f'<rect x="{lx + 100}" y="{legend_y - 6}" width="10" height="5" class="bar previous"/>'
        f'<text x="{lx + 114}" y="{legend_y}">{escape(previous_label)} (in brackets)</text>'
    )
    if any(bar.marker is not None for bar in bars):
        parts.append(
            f'<line x1="{lx + 290}" y1="{legend_y - 11}" x2="{lx + 290}" y2="{legend_y + 2}" '
            f'class="marker"/><text x="{lx + 296}" y="{legend_y}">{escape(marker_label)}</text>'
        )
    parts.append("</g></svg>")
    return "".join(parts)
