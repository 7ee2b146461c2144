"""Chart geometry: axes read well and bars follow the figures."""

from datetime import date

import pytest

from app.blueprints.merchant.charts import axis_top, nice_ceiling, ranking_chart, trend_chart
from app.services.reports.sales_reports import DayFigures


@pytest.mark.parametrize(("value", "nice"), [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (10, 10), (11, 20), (4999, 5000)])
def test_nice_ceiling_is_one_two_or_five_times_a_power_of_ten(value, nice):
    assert nice_ceiling(value) == nice


@pytest.mark.parametrize(("value", "top"), [(0, 4), (1, 4), (7, 8), (30, 40), (12970, 20000)])
def test_axis_top_splits_into_equal_nice_steps(value, top):
    assert axis_top(value, 4) == top


def test_trend_bars_follow_gmv_and_every_day_gets_a_bar_and_a_dot():
    days = [
        DayFigures(date(2026, 11, d), fen, orders, 0) for d, fen, orders in ((1, 0, 0), (2, 5000, 1), (3, 10000, 3))
    ]
    chart = trend_chart(days)
    assert [b["h"] for b in chart.bars][0] == 0
    assert chart.bars[2]["h"] == pytest.approx(2 * chart.bars[1]["h"])
    assert len(chart.dots) == 3 and len(chart.line.split()) == 3
    assert len({t["orders"] for t in chart.right_ticks}) == len(chart.right_ticks)  # no repeated numbers
    assert chart.ticks[-1]["fen"] >= 10000


def test_empty_trend_draws_nothing():
    assert trend_chart([]).bars == []


def test_ranking_bars_are_longest_for_the_best():
    chart = ranking_chart([{"v": 300, "n": "a"}, {"v": 100, "n": "b"}, {"v": 0, "n": "c"}], "v", "n")
    widths = [b["w"] for b in chart.bars]
    assert widths[0] == pytest.approx(3 * widths[1], abs=0.05) and widths[2] == 1.0
