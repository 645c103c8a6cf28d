"""Small time-series charts drawn on the server as SVG: no charting library, no JavaScript, the same in every
portal. A chart is a picture for people who look; each one carries a text summary for screen readers, and the
numbers stay in the tables beside it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 560, 180
LEFT, RIGHT, TOP, BOTTOM = 72, 12, 12, 26


def percent(value: float) -> str:
    return f"{value:.0f}%"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    style: str = "series"  # a class in app.css: series, series-2


def _nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at or above `value` (an axis top people can read)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _x(i: int, n: int) -> float:
    inner = WIDTH - LEFT - RIGHT
    return LEFT + (inner * i / (n - 1) if n > 1 else inner / 2)


def _y(value: float, top: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top)


def _frame(days: Sequence[dt.date], top: float, fmt: Callable[[float], str]) -> list[str]:
    parts = []
    for frac in (0, 0.5, 1):
        y = _y(top * frac, top)
        parts.append(f'<line class="grid-line" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(fmt(top * frac))}</text>'
        )
    n = len(days)
    for i in sorted({0, n // 2, n - 1}) if n else []:
        label = days[i].strftime("%d %b")
        anchor = "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle"
        parts.append(f'<text x="{_x(i, n):.1f}" y="{HEIGHT - 6}" text-anchor="{anchor}">{label}</text>')
    return parts


def _svg(title: str, summary: str, parts: list[str], testid: str) -> Markup:
    body = "".join(parts)
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}: '
        f'{escape(summary)}" data-testid="{escape(testid)}"><title>{escape(title)}</title>{body}</svg>'
    )


def line_chart(
    title: str,
    days: Sequence[dt.date],
    series: Sequence[Series],
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    testid: str = "chart",
) -> Markup:
    """One line per series over the days (a None value leaves a gap)."""
    values = [v for s in series for v in s.values if v is not None]
    top = _nice_max(max(values, default=0))
    parts = _frame(days, top, fmt)
    for s in series:
        runs, run = [], []
        for i, v in enumerate(s.values):
            if v is None:
                runs, run = runs + ([run] if run else []), []
            else:
                run.append(f"{_x(i, len(days)):.1f},{_y(v, top):.1f}")
        for points in runs + ([run] if run else []):
            if len(points) == 1:
                x, y = points[0].split(",")
                parts.append(f'<circle class="dot {s.style}" cx="{x}" cy="{y}" r="2.5"/>')
            else:
                parts.append(f'<polyline class="{s.style}" points="{" ".join(points)}"/>')
    summary = "; ".join(
        f"{s.name}: latest {fmt(last)}"
        if (last := next((v for v in reversed(s.values) if v is not None), None)) is not None
        else f"{s.name}: no data"
        for s in series
    )
    return _svg(title, summary, parts, testid)


def bar_chart(
    title: str,
    days: Sequence[dt.date],
    values: Sequence[float],
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    testid: str = "chart",
    warn_at: float | None = None,
) -> Markup:
    """One bar per day; bars at or above `warn_at` are drawn in the warning colour."""
    top = _nice_max(max(values, default=0))
    parts = _frame(days, top, fmt)
    n = len(days)
    slot = (WIDTH - LEFT - RIGHT) / max(n, 1)
    for i, v in enumerate(values):
        if not v:
            continue
        x = LEFT + slot * i + slot * 0.15
        y = _y(v, top)
        tone = " warn" if warn_at is not None and v >= warn_at else ""
        height = HEIGHT - BOTTOM - y
        parts.append(
            f'<rect class="bar-rect{tone}" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{height:.1f}">'
            f"<title>{days[i].isoformat()}: {escape(fmt(v))}</title></rect>"
        )
    summary = f"{fmt(sum(values))} in all, most {fmt(max(values, default=0))} in a day"
    return _svg(title, summary, parts, testid)
