"""Charts drawn on the server as SVG: no script, no CDN, readable offline and at high contrast.

Every chart is an ``<svg role="img">`` titled and described for screen readers; the page puts the same
numbers in a table beside it. Colours come from CSS classes (``s0``…``s5``), so a high-contrast style can
change them, and every bar carries its value as text.
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

from bot.i18n import format_number
from bot.panels import Chart

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 16, 48


def _nice_max(value: float) -> float:
    """The axis's top: four equal steps of 1, 2, 2.5 or 5 times a power of ten, at or above ``value``."""
    if value <= 0:
        return 4.0
    power = 1.0
    while power * 10 < value / 4:
        power *= 10
    while power > value / 4 and power > 0.01:
        power /= 10
    for factor in (1, 2, 2.5, 5, 10):
        if power * factor * 4 >= value and (power * factor >= 1 or value < 4):
            return max(power * factor * 4, 4.0)
    return power * 40


def _fit(label: str, width: float) -> str:
    """``label`` cut to what ``width`` pixels of 11-pixel text hold, marked with an ellipsis when cut."""
    room = max(3, int(width / 6.2))
    return label if len(label) <= room else label[:room - 1] + "…"


def _legend(chart: Chart, y: float) -> list[str]:
    if len(chart.series) < 2:
        return []
    parts, x = [], LEFT
    for index, series in enumerate(chart.series):
        parts.append(f'<rect class="s{index % 6}" x="{x}" y="{y - 9}" width="10" height="10"/>'
                     f'<text x="{x + 14}" y="{y}" class="legend">{escape(series.name)}</text>')
        x += 24 + 7 * len(series.name)
    return parts


def render(chart: Chart, chart_id: str) -> Markup:
    if chart.kind == "hbar":
        body, height = _hbar(chart)
    else:
        body, height = _columns(chart)
    title = escape(chart.description)
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{chart_id}-t" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">'
        f'<title id="{chart_id}-t">{title}</title>{body}</svg>')


def _columns(chart: Chart) -> tuple[str, int]:
    labels = chart.labels
    top = _nice_max(max((v for s in chart.series for v in s.values), default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = []
    for tick in range(5):
        value = top * tick / 4
        y = TOP + plot_h - plot_h * tick / 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{escape(format_number(round(value, 1)))}</text>')
    count = max(len(labels), 1)
    slot = plot_w / count
    every = max(1, count // 12)  # at most a dozen labels under the axis
    for index, label in enumerate(labels):
        if index % every == 0:
            x = LEFT + slot * (index + 0.5)
            parts.append(f'<text class="axis" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
                         f'{escape(_fit(label, slot * every))}</text>')
    if chart.kind == "line":
        for s_index, series in enumerate(chart.series):
            points = [(LEFT + slot * (i + 0.5), TOP + plot_h - plot_h * v / top) for i, v in enumerate(series.values)]
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline class="line s{s_index % 6}" points="{path}"/>')
            parts.extend(f'<circle class="s{s_index % 6}" cx="{x:.1f}" cy="{y:.1f}" r="3"/>' for x, y in points)
    else:
        bars = max(len(chart.series), 1)
        width = slot * 0.8 / bars
        for s_index, series in enumerate(chart.series):
            for index, value in enumerate(series.values):
                height = plot_h * value / top
                x = LEFT + slot * index + slot * 0.1 + width * s_index
                y = TOP + plot_h - height
                parts.append(f'<rect class="s{s_index % 6}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                             f'height="{height:.1f}"/>')
                if value and width >= 14:
                    parts.append(f'<text class="value" x="{x + width / 2:.1f}" y="{y - 3:.1f}" '
                                 f'text-anchor="middle">{escape(format_number(value))}</text>')
    parts.extend(_legend(chart, HEIGHT - 8))
    return "".join(parts), HEIGHT


def _hbar(chart: Chart) -> tuple[str, int]:
    row, label_w = 26, 200
    height = TOP + row * max(len(chart.labels), 1) * max(len(chart.series), 1) + 28
    top = _nice_max(max((v for s in chart.series for v in s.values), default=0.0))
    plot_w = WIDTH - label_w - RIGHT - 40
    parts = []
    y = TOP
    for index, label in enumerate(chart.labels):
        for s_index, series in enumerate(chart.series):
            value = series.values[index] if index < len(series.values) else 0.0
            width = plot_w * value / top
            if s_index == 0:
                parts.append(f'<text class="axis" x="{label_w - 6}" y="{y + 16}" text-anchor="end">'
                             f'{escape(label[:30])}</text>')
            parts.append(f'<rect class="s{s_index % 6}" x="{label_w}" y="{y + 4}" width="{width:.1f}" height="16"/>'
                         f'<text class="value" x="{label_w + width + 4:.1f}" y="{y + 16}">'
                         f'{escape(format_number(value))}</text>')
            y += row
    parts.extend(_legend(chart, height - 6))
    return "".join(parts), height


__all__ = ["render"]
