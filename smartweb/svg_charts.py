"""Bar charts drawn as inline SVG on the server: no script, no library, nothing fetched.

    bar_chart(["Jan 2026", "Feb 2026"], [Series("Won", [10, 20], "#2e7d32")])
    hbar_chart(["Google Maps", "Referral"], [Series("Leads", [40, 12])])

Each chart has a value axis with round ticks (1, 2 or 5 × 10ⁿ) and gridlines, each
category labelled once, and a <title> per bar with the exact value (a tooltip, and what a
screen reader reads). Labels and values are escaped; the markup is safe to include.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a")
FONT = 11


@dataclass
class Series:
    name: str
    values: list
    color: str = ""


def ticks(largest, count: int = 5, *, whole: bool = False) -> list[Decimal]:
    """Round values from 0 to at least `largest`, about `count` steps (whole numbers
    only, for counts, when `whole`)."""
    largest = Decimal(largest or 0)
    if largest <= 0:
        return [Decimal(0), Decimal(1)]
    rough = largest / count
    magnitude = Decimal(10) ** math.floor(math.log10(rough))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    if whole:
        step = max(step, Decimal(1))
    steps = math.ceil(largest / step)
    return [step * i for i in range(steps + 1)]


def short(value) -> str:
    """An axis label: 1500 -> 1.5k, 2000000 -> 2M."""
    value = Decimal(value)
    for size, suffix in ((Decimal(10) ** 9, "G"), (Decimal(10) ** 6, "M"), (Decimal(1000), "k")):
        if abs(value) >= size:
            return f"{(value / size).normalize():f}".rstrip(".") + suffix
    return f"{value.normalize():f}"


def exact(value) -> str:
    """A tooltip's value: thousands separated, no trailing zeros beyond cents."""
    value = Decimal(value or 0)
    return f"{value:,.0f}" if value == value.to_integral() else f"{value:,.2f}"


def _colored(series: list[Series]) -> list[Series]:
    return [
        Series(s.name, [Decimal(v or 0) for v in s.values], s.color or PALETTE[i % len(PALETTE)])
        for i, s in enumerate(series)
    ]


def _legend(series: list[Series], x: float, y: float) -> SafeString:
    parts, offset = [], x
    for s in series:
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="10" height="10" fill="{}"></rect>'
                '<text x="{}" y="{}">{}</text>',
                offset,
                y - 9,
                s.color,
                offset + 14,
                y,
                s.name,
            )
        )
        offset += 24 + len(s.name) * 6.5
    return mark_safe("".join(parts))  # noqa: S308  (each part escaped by format_html)


def _svg(width: int, height: int, label: str, body: list[SafeString]) -> SafeString:
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}"'
        ' style="max-width: {}px" font-size="{}">{}</svg>',
        width,
        height,
        label,
        width,
        FONT,
        mark_safe("".join(body)),  # noqa: S308  (each part escaped by format_html)
    )


def bar_chart(
    categories: list[str],
    series: list[Series],
    *,
    label: str = "",
    width: int = 640,
    height: int = 240,
) -> SafeString:
    """Vertical bars, grouped per category (one bar per series), values on the left axis."""
    series = _colored(series)
    scale = ticks(max((v for s in series for v in s.values), default=0))
    left, right, top, bottom = 56, 8, 24, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    base = top + plot_h
    body = [_legend(series, left, 12)]
    for tick in scale:
        y = base - float(tick / scale[-1]) * plot_h
        body.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="currentColor" stroke-opacity="{}">'
                '</line><text class="tick" x="{}" y="{}" text-anchor="end">{}</text>',
                left,
                width - right,
                round(y, 1),
                round(y, 1),
                "0.6" if tick == 0 else "0.15",
                left - 6,
                round(y + 4, 1),
                short(tick),
            )
        )
    slot = plot_w / max(len(categories), 1)
    bar = min(28.0, slot * 0.8 / max(len(series), 1))
    for i, category in enumerate(categories):
        first = left + i * slot + (slot - bar * len(series)) / 2
        for j, s in enumerate(series):
            h = float(s.values[i] / scale[-1]) * plot_h
            body.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                    "<title>{}, {}: {}</title></rect>",
                    round(first + j * bar, 1),
                    round(base - h, 1),
                    round(bar - 1, 1),
                    round(h, 1),
                    s.color,
                    category,
                    s.name,
                    exact(s.values[i]),
                )
            )
        body.append(
            format_html(
                '<text class="category" x="{}" y="{}" text-anchor="middle">{}</text>',
                round(left + (i + 0.5) * slot, 1),
                base + 16,
                category,
            )
        )
    return _svg(width, height, label, body)


def hbar_chart(
    categories: list[str],
    series: list[Series],
    *,
    label: str = "",
    width: int = 480,
    row: int = 24,
    whole: bool = True,
) -> SafeString:
    """Horizontal bars, one row per category (labels on the left), values on the bottom
    axis. Several series overlap in a row, the first the widest (e.g. leads, converted).
    Counts by default: whole-number ticks."""
    series = _colored(series)
    scale = ticks(max((v for s in series for v in s.values), default=0), count=4, whole=whole)
    left, right, top, bottom = 120, 36, 22, 24
    plot_w = width - left - right
    height = top + row * max(len(categories), 1) + bottom
    base = height - bottom
    body = [_legend(series, left, 12)] if len(series) > 1 else []
    for tick in scale:
        x = left + float(tick / scale[-1]) * plot_w
        body.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="currentColor" stroke-opacity="{}">'
                '</line><text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>',
                round(x, 1),
                round(x, 1),
                top,
                base,
                "0.6" if tick == 0 else "0.15",
                round(x, 1),
                base + 15,
                short(tick),
            )
        )
    for i, category in enumerate(categories):
        y = top + i * row
        body.append(
            format_html(
                '<text class="category" x="{}" y="{}" text-anchor="end">{}</text>',
                left - 8,
                y + row / 2 + 4,
                category,
            )
        )
        for j, s in enumerate(series):
            w = float(s.values[i] / scale[-1]) * plot_w
            inset = 4 + j * 4
            body.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                    "<title>{}, {}: {}</title></rect>",
                    left,
                    y + inset,
                    round(w, 1),
                    row - 2 * inset,
                    s.color,
                    category,
                    s.name,
                    exact(s.values[i]),
                )
            )
        body.append(
            format_html(
                '<text class="value" x="{}" y="{}">{}</text>',
                round(left + float(series[0].values[i] / scale[-1]) * plot_w + 4, 1),
                y + row / 2 + 4,
                exact(series[0].values[i]),
            )
        )
    return _svg(width, height, label, body)


__all__ = ["Series", "bar_chart", "hbar_chart", "ticks"]
