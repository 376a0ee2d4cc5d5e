"""Server-side SVG charts: round axis ticks, each category labelled once, labels escaped,
exact values in the tooltips."""

import re
from decimal import Decimal

from smartweb.svg_charts import Series, bar_chart, hbar_chart, ticks


def test_ticks_are_round_and_cover_the_largest_value():
    assert ticks(7) == [0, 2, 4, 6, 8]
    assert ticks(Decimal("1234.50")) == [0, 500, 1000, 1500]
    assert ticks(0) == [0, 1]  # an empty chart still has an axis
    assert ticks(2, count=4) == [0, Decimal("0.5"), 1, Decimal("1.5"), 2]
    assert ticks(2, count=4, whole=True) == [0, 1, 2]  # no half a call


def test_a_bar_chart_labels_each_category_once_with_an_axis():
    chart = bar_chart(
        ["Jan 2026", "Feb 2026"],
        [Series("Open", [Decimal("1500.50"), 0]), Series("Won", [100, 2000])],
    )
    categories = re.findall(r'<text class="category"[^>]*>([^<]*)</text>', chart)
    assert categories == ["Jan 2026", "Feb 2026"]
    assert re.findall(r'<text class="tick"[^>]*>([^<]*)</text>', chart) == [
        "0",
        "500",
        "1k",
        "1.5k",
        "2k",
    ]
    assert "<title>Jan 2026, Open: 1,500.50</title>" in chart


def test_labels_are_escaped():
    chart = hbar_chart(["<script>x</script>"], [Series("Leads", [3])])
    assert "<script>" not in chart and "&lt;script&gt;" in chart
