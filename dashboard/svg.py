"""Inline SVG charts: horizontal bars with CI whiskers, categorical line charts, scatter.

Why hand-written SVG and not a charting library: the dashboard must open offline from a
file (no CDN, no JavaScript library), and matplotlib PNGs would need base64 blobs that
cannot be searched, styled or tested. Each function returns one `<svg>` element as text;
every label passes through `html.escape` because model names come from users and providers.
Hovering a mark shows its exact value (`<title>`), so the plots need no JavaScript.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
FONT = 'font-family="system-ui, sans-serif" font-size="12"'
LABEL_CHARS = 32


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    low: float | None = None  # CI whisker, same units as value
    high: float | None = None
    note: str = ""  # extra hover text, e.g. "n=40"
    color: str = ""  # empty: the palette colour of the bar's position


@dataclass(frozen=True)
class Line:
    label: str
    values: Sequence[float | None]  # one per x label; None breaks the line
    color: str = ""


@dataclass(frozen=True)
class Points:
    label: str
    xy: Sequence[tuple[float, float]]
    color: str = ""


def color(index: int, given: str = "") -> str:
    return escape(given) if given else PALETTE[index % len(PALETTE)]


def color_map(names: Sequence[str]) -> dict[str, str]:
    """One colour per name, by position in a stable list (the archive's models), so a
    model keeps its colour in every chart of the page."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def _fmt(value: float) -> str:
    return f"{value:.1f}" if abs(value) < 1000 else f"{value:,.0f}"


def _short(label: str, limit: int = LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 x 10^k) covering [low, high]."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0, 1.0]
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = [round(start, 10)]
    while ticks[-1] < high - step * 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    label = escape(title)
    return (f'<svg class="chart" role="img" aria-label="{label}" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" {FONT}><title>{label}</title>'
            f'<text x="{width / 2:.0f}" y="16" text-anchor="middle" font-weight="bold">{label}</text>'
            + "".join(body) + "</svg>")


def bar_chart(bars: Sequence[Bar], *, title: str, unit: str = "", max_value: float | None = None) -> str:
    """Horizontal bars (one per label, in the given order) with optional CI whiskers."""
    left, right, row, top = 240, 30, 24, 30
    width = 720
    plot_w = width - left - right
    height = top + row * max(1, len(bars)) + 30
    top_value = max_value if max_value is not None else max(
        [b.high if b.high is not None else b.value for b in bars] + [1e-9])
    ticks = nice_ticks(0.0, top_value)
    scale_max = ticks[-1] if max_value is None else max_value

    def x(v: float) -> float:
        return left + plot_w * max(0.0, min(v, scale_max)) / scale_max

    body: list[str] = []
    axis_y = top + row * max(1, len(bars))
    for t in ticks:
        if t <= scale_max:
            body.append(f'<line x1="{x(t):.1f}" y1="{top}" x2="{x(t):.1f}" y2="{axis_y}" stroke="#ddd"/>'
                        f'<text x="{x(t):.1f}" y="{axis_y + 14}" text-anchor="middle">{_fmt(t)}</text>')
    if unit:
        body.append(f'<text x="{left + plot_w / 2:.0f}" y="{axis_y + 28}" text-anchor="middle">{escape(unit)}</text>')
    for i, b in enumerate(bars):
        y = top + i * row
        tip = f"{b.label}: {_fmt(b.value)}"
        if b.low is not None and b.high is not None:
            tip += f" [{_fmt(b.low)}, {_fmt(b.high)}]"
        if b.note:
            tip += f" {b.note}"
        body.append(f'<g class="bar"><title>{escape(tip)}</title>'
                    f'<text x="{left - 6}" y="{y + row / 2 + 4:.1f}" text-anchor="end">{escape(_short(b.label))}</text>'
                    f'<rect x="{left}" y="{y + 4}" width="{x(b.value) - left:.1f}" height="{row - 8}" '
                    f'fill="{color(i, b.color)}" opacity="0.8"/>')
        if b.low is not None and b.high is not None:
            mid = y + row / 2
            body.append(f'<line class="ci" x1="{x(b.low):.1f}" y1="{mid:.1f}" x2="{x(b.high):.1f}" y2="{mid:.1f}" '
                        f'stroke="#222" stroke-width="1.5"/>'
                        f'<line x1="{x(b.low):.1f}" y1="{mid - 5:.1f}" x2="{x(b.low):.1f}" y2="{mid + 5:.1f}" stroke="#222"/>'
                        f'<line x1="{x(b.high):.1f}" y1="{mid - 5:.1f}" x2="{x(b.high):.1f}" y2="{mid + 5:.1f}" '
                        f'stroke="#222"/>')
        body.append("</g>")
    return _svg(width, height + (14 if unit else 0), title, body)


def _legend(entries: Sequence[tuple[str, str]], x0: float, y0: float) -> list[str]:
    out: list[str] = []
    for i, (label, fill) in enumerate(entries):
        y = y0 + i * 16
        out.append(f'<g class="legend"><rect x="{x0:.0f}" y="{y - 9:.0f}" width="10" height="10" '
                   f'fill="{color(i, fill)}"/>'
                   f'<text x="{x0 + 14:.0f}" y="{y:.0f}">{escape(_short(label, 28))}</text></g>')
    return out


def _y_axis(ticks: Sequence[float], y: Callable[[float], float], left: int, right_x: int, label: str,
            top: int, bottom: int) -> list[str]:
    out = [f'<line x1="{left}" y1="{y(t):.1f}" x2="{right_x}" y2="{y(t):.1f}" stroke="#eee"/>'
           f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{_fmt(t)}</text>' for t in ticks]
    mid = (top + bottom) / 2
    out.append(f'<text transform="translate(14 {mid:.0f}) rotate(-90)" text-anchor="middle">{escape(label)}</text>')
    return out


def line_chart(lines: Sequence[Line], x_labels: Sequence[str], *, title: str, ylabel: str,
               max_value: float | None = None) -> str:
    """One polyline per series over categorical x positions (context lengths, dates)."""
    left, top, bottom_pad, legend_w = 60, 30, 40, 200
    width, plot_h = 760, 240
    plot_w = width - left - legend_w - 20
    values = [v for line in lines for v in line.values if v is not None]
    ticks = nice_ticks(0.0, max_value if max_value is not None else max(values + [1e-9]))
    y_max = max_value if max_value is not None else ticks[-1]
    bottom = top + plot_h

    def x(i: int) -> float:
        return left + (plot_w * (i + 0.5) / max(1, len(x_labels)))

    def y(v: float) -> float:
        return bottom - plot_h * max(0.0, min(v, y_max)) / y_max

    body = _y_axis([t for t in ticks if t <= y_max], y, left, left + plot_w, ylabel, top, bottom)
    for i, label in enumerate(x_labels):
        body.append(f'<text x="{x(i):.1f}" y="{bottom + 16}" text-anchor="middle">{escape(_short(label, 14))}</text>')
    for s_index, line in enumerate(lines):
        segments: list[list[tuple[float, float]]] = [[]]
        marks: list[str] = []
        for i, v in enumerate(line.values[: len(x_labels)]):
            if v is None:
                segments.append([])
                continue
            segments[-1].append((x(i), y(v)))
            marks.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="{color(s_index, line.color)}">'
                         f'<title>{escape(f"{line.label} @ {x_labels[i]}: {_fmt(v)}")}</title></circle>')
        group = [f'<g class="series" data-series="{escape(line.label)}">']
        for seg in segments:
            if len(seg) > 1:
                pts = " ".join(f"{px:.1f},{py:.1f}" for px, py in seg)
                group.append(f'<polyline points="{pts}" fill="none" stroke="{color(s_index, line.color)}" '
                             'stroke-width="2"/>')
        body.append("".join(group + marks) + "</g>")
    body += _legend([(line.label, line.color) for line in lines], left + plot_w + 20, top + 10)
    return _svg(width, bottom + bottom_pad, title, body)


def scatter(series: Sequence[Points], *, title: str, xlabel: str, ylabel: str) -> str:
    """Dots per series on linear axes from 0 (both axes in the same units invite comparison)."""
    left, top, legend_w = 60, 30, 200
    width, plot_h = 760, 280
    plot_w = width - left - legend_w - 20
    bottom = top + plot_h
    xs = [p[0] for s in series for p in s.xy]
    ys = [p[1] for s in series for p in s.xy]
    x_ticks = nice_ticks(0.0, max(xs + [1e-9]))
    y_ticks = nice_ticks(0.0, max(ys + [1e-9]))
    x_max, y_max = x_ticks[-1], y_ticks[-1]

    def x(v: float) -> float:
        return left + plot_w * max(0.0, v) / x_max

    def y(v: float) -> float:
        return bottom - plot_h * max(0.0, v) / y_max

    body = _y_axis(y_ticks, y, left, left + plot_w, ylabel, top, bottom)
    for t in x_ticks:
        body.append(f'<text x="{x(t):.1f}" y="{bottom + 16}" text-anchor="middle">{_fmt(t)}</text>')
    body.append(f'<text x="{left + plot_w / 2:.0f}" y="{bottom + 32}" text-anchor="middle">{escape(xlabel)}</text>')
    for s_index, s in enumerate(series):
        dots = "".join(f'<circle cx="{x(px):.1f}" cy="{y(py):.1f}" r="2.5"/>' for px, py in s.xy)
        body.append(f'<g class="series" fill="{color(s_index, s.color)}" fill-opacity="0.6" '
                    f'data-series="{escape(s.label)}"><title>{escape(s.label)}</title>{dots}</g>')
    body += _legend([(s.label, s.color) for s in series], left + plot_w + 20, top + 10)
    return _svg(width, bottom + 44, title, body)
