"""Chart geometry for the sales dashboard, drawn as inline SVG by the templates.

Server-side SVG rather than a JavaScript chart library: the charts show with scripts off, print,
cost no download, and are plain elements a test can count. Values stay integers (fen, units);
only pixel positions are floats.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 92, 44, 16, 28


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ at or above `value` (at least 1), so axis ticks read well."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def axis_top(value: int, ticks: int) -> int:
    """An axis maximum of `ticks` equal steps, each a nice number: 0, 50, 100, 150, 200."""
    return nice_ceiling(-(-value // ticks)) * ticks


@dataclass
class TrendChart:
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[dict] = field(default_factory=list)
    ticks: list[dict] = field(default_factory=list)
    right_ticks: list[dict] = field(default_factory=list)
    x_labels: list[dict] = field(default_factory=list)
    line: str = ""
    dots: list[dict] = field(default_factory=list)
    plot: dict = field(default_factory=dict)


def trend_chart(days: list, *, ticks: int = 4) -> TrendChart:
    """Bars of GMV per day (left axis) and a line of orders per day (right axis)."""
    chart = TrendChart()
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    chart.plot = {"x": LEFT, "y": TOP, "w": plot_w, "h": plot_h, "bottom": TOP + plot_h}
    if not days:
        return chart
    top_fen = axis_top(max(d.gmv_fen for d in days), ticks)
    top_orders = axis_top(max(d.orders for d in days), ticks)
    slot = plot_w / len(days)
    bar_w = max(1.0, slot * 0.7)
    points = []
    for index, day in enumerate(days):
        x = LEFT + index * slot
        h = plot_h * day.gmv_fen / top_fen
        chart.bars.append(
            {
                "x": round(x + (slot - bar_w) / 2, 2),
                "y": round(TOP + plot_h - h, 2),
                "w": round(bar_w, 2),
                "h": round(h, 2),
                "day": day,
            }
        )
        cx = round(x + slot / 2, 2)
        cy = round(TOP + plot_h - plot_h * day.orders / top_orders, 2)
        points.append(f"{cx},{cy}")
        chart.dots.append({"x": cx, "y": cy, "day": day})
    chart.line = " ".join(points)
    for n in range(ticks + 1):
        y = round(TOP + plot_h - plot_h * n / ticks, 2)
        chart.ticks.append({"y": y, "fen": top_fen * n // ticks})
        chart.right_ticks.append({"y": y, "orders": top_orders * n // ticks})
    every = max(1, round(len(days) / 8))  # about eight dates along the bottom, whatever the range
    for index in range(0, len(days), every):
        chart.x_labels.append({"x": round(LEFT + index * slot + slot / 2, 2), "day": days[index].day})
    return chart


@dataclass
class BarList:
    bars: list[dict] = field(default_factory=list)
    height: int = 0
    width: int = WIDTH


def ranking_chart(rows: list[dict], value_key: str, label_key: str, *, row_h: int = 26) -> BarList:
    """Horizontal bars, one per ranked row, longest for the best."""
    chart = BarList(height=row_h * len(rows) + 4)
    if not rows:
        return chart
    top = max(row[value_key] for row in rows) or 1
    label_w, value_w = 180, 110
    track = WIDTH - label_w - value_w
    for index, row in enumerate(rows):
        chart.bars.append(
            {
                "y": index * row_h + 2,
                "label_x": label_w - 8,
                "x": label_w,
                "w": round(max(1.0, track * row[value_key] / top), 2),
                "h": row_h - 8,
                "value_x": label_w + track + 8,
                "label": row[label_key],
                "value": row[value_key],
            }
        )
    return chart
