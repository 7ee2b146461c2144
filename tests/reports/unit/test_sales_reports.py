"""Dashboard figures: periods, overview, trend, rankings and per-window results over real sales."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import OrderItem
from app.services.closing import closing
from app.services.core import clock
from app.services.core.errors import ValidationFailed
from app.services.reports import sales_reports, sales_rollup
from app.services.reports.sales_reports import Period
from tests.support import sales
from tests.support.batches import place
from tests.support.sales import local

TODAY = date(2026, 11, 25)


@pytest.fixture
def shop(app, make_merchant, make_product, make_window, make_leader, make_point):
    return sales.build(make_merchant, make_product, make_window, make_leader, make_point)


@pytest.mark.parametrize(
    ("preset", "start", "end"),
    [("today", TODAY, TODAY), ("7d", TODAY - timedelta(days=6), TODAY), ("30d", TODAY - timedelta(days=29), TODAY)],
)
def test_presets_end_today_in_the_deployments_zone(app, preset, start, end):
    period = sales_reports.period_from_args(preset, None, None, today=TODAY)
    assert (period.start, period.end, period.preset) == (start, end, preset)


def test_no_range_means_the_last_seven_days(app):
    assert sales_reports.period_from_args(None, None, None, today=TODAY).days == 7


def test_custom_range_includes_both_ends_and_compares_with_the_days_before(app):
    period = sales_reports.period_from_args("custom", "2026-11-01", "2026-11-10", today=TODAY)
    assert period.days == 10
    assert (period.previous().start, period.previous().end) == (date(2026, 10, 22), date(2026, 10, 31))


@pytest.mark.parametrize(
    ("preset", "start", "end", "field"),
    [
        ("custom", "2026-11-10", "2026-11-01", "end"),
        ("custom", "2025-01-01", "2026-11-01", "end"),
        ("custom", "", "2026-11-01", "start"),
        ("custom", "2026-13-01", "2026-11-01", "start"),
        ("custom", "2026-11-01", "x" * 5000, "end"),
        ("custom", "2026-11-01'; DROP TABLE orders;--", "2026-11-02", "start"),
        ("custom", "2026-11-01\x00", "2026-11-02", "start"),
        ("custom", "+2026-11-01", "2026-11-02", "start"),
        ("yesterday", None, None, "range"),
        ("<script>", None, None, "range"),
    ],
)
def test_bad_ranges_name_the_wrong_field(app, preset, start, end, field):
    with pytest.raises(ValidationFailed) as caught:
        sales_reports.period_from_args(preset, start, end, today=TODAY)
    assert field in caught.value.fields


def test_overview_counts_distinct_customers_across_days_and_compares(shop, make_order):
    # Previous week: one order. This week: the same customer on two days, another once, one refund.
    sales.sell(shop, make_order, at=local(date(2026, 11, 15)), lines=[(0, 1)], phone="13900000001")
    sales.sell(shop, make_order, at=local(date(2026, 11, 20)), lines=[(0, 2)], phone="13900000001")
    sales.sell(shop, make_order, at=local(date(2026, 11, 22)), lines=[(1, 1)], phone="13900000001")
    last = sales.sell(shop, make_order, at=local(date(2026, 11, 22)), lines=[(1, 2)], phone="13900000002", point=1)
    sales.refund(last, 3990, at=local(date(2026, 11, 23)))
    sales_rollup.roll_up_sales()

    figures = sales_reports.overview(shop.merchant.id, Period(date(2026, 11, 19), TODAY))
    gmv = 2 * 2990 + 3990 + 2 * 3990
    assert (figures.gmv_fen, figures.orders, figures.customers, figures.units) == (gmv, 3, 2, 5)
    assert figures.average_order_fen == gmv // 3
    assert (figures.refunded_fen, figures.refunds) == (3990, 1)
    assert figures.refund_rate_bp == 3990 * 10_000 // gmv
    assert (figures.previous.gmv_fen, figures.previous.orders, figures.previous.customers) == (2990, 1, 1)
    assert figures.previous.refund_rate_bp == 0


def test_an_empty_period_has_no_refund_rate_rather_than_dividing_by_zero(shop):
    figures = sales_reports.overview(shop.merchant.id, Period(TODAY, TODAY))
    assert (figures.gmv_fen, figures.average_order_fen, figures.refund_rate_bp) == (0, 0, None)


def test_trend_has_every_day_of_the_period_with_zeros_between_sales(shop, make_order):
    sales.sell(shop, make_order, at=local(date(2026, 11, 20)), lines=[(0, 1)])
    sales.sell(shop, make_order, at=local(date(2026, 11, 22)), lines=[(0, 1)])
    sales.sell(shop, make_order, at=local(date(2026, 11, 22)), lines=[(1, 1)])
    sales_rollup.roll_up_sales()
    days = sales_reports.trend(shop.merchant.id, Period(date(2026, 11, 19), date(2026, 11, 23)))
    assert [(d.day.day, d.gmv_fen, d.orders) for d in days] == [
        (19, 0, 0),
        (20, 2990, 1),
        (21, 0, 0),
        (22, 2990 + 3990, 2),
        (23, 0, 0),
    ]


def test_rankings_put_the_best_seller_first(shop, make_order):
    at = local(date(2026, 11, 20))
    sales.sell(shop, make_order, at=at, lines=[(0, 5)], point=0)
    sales.sell(shop, make_order, at=at, lines=[(1, 1)], point=1)
    sales.sell(shop, make_order, at=at, lines=[(1, 1)], point=1)
    sales_rollup.roll_up_sales()
    period = Period(date(2026, 11, 20), date(2026, 11, 20))

    products = sales_reports.product_ranking(shop.merchant.id, period)
    assert [(p["name"], p["units"], p["sales_fen"], p["orders"]) for p in products] == [
        ("脐橙", 5, 5 * 2990, 1),
        ("草莓", 2, 2 * 3990, 2),
    ]
    leaders = sales_reports.leader_ranking(shop.merchant.id, period)
    assert [(r["community"], r["orders"], r["gmv_fen"]) for r in leaders] == [
        ("阳光小区", 1, 5 * 2990),
        ("翠湖花园", 2, 2 * 3990),
    ]
    points = sales_reports.point_ranking(shop.merchant.id, period, limit=1)
    assert [(r["point_id"], r["gmv_fen"]) for r in points] == [(shop.points[0].id, 5 * 2990)]


def test_window_figures_show_group_success_sell_through_and_shortages(
    app, make_merchant, make_product, make_window, make_leader, make_point, make_order
):
    merchant = make_merchant()
    formed, lonely = make_product(merchant, stock=100), make_product(merchant, stock=100)
    closes = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    window = make_window(
        merchant,
        items=[{"product": formed, "quota": 10}, {"product": lonely, "min_group": 5}],
        opens_at=closes - timedelta(days=1),
        closes_at=closes,
    )
    point = make_point()
    a, b = window.items
    orders = [place(make_order, window, point, [(a, 2), (b, 1)]) for _ in range(3)]
    with clock.frozen_at(closes + timedelta(minutes=1)):
        assert closing.close_window(window.id) is not None
    db.session.execute(
        update(OrderItem)
        .where(OrderItem.order_id == orders[0].id, OrderItem.window_item_id == a.id)
        .values(shortage_qty=1)
    )
    db.session.commit()
    sales_rollup.roll_up_sales()

    [row] = sales_reports.window_figures(merchant.id, Period(date(2026, 11, 20), date(2026, 11, 20)))
    assert (row["item_count"], row["formed"], row["formed_bp"]) == (2, 1, 5000)
    assert (row["units_sold"], row["units_offered"], row["sell_through_bp"]) == (6, 10, 6000)
    assert (row["shortage_units"], row["shortage_bp"]) == (1, 10_000 // 6)
    paid = sum(o.total_fen for o in orders)
    assert (row["gmv_fen"], row["refunded_fen"]) == (paid, 3 * b.group_price_fen)  # the failed group refunded
    assert sales_reports.window_figures(merchant.id, Period(date(2026, 11, 21), date(2026, 11, 30))) == []
