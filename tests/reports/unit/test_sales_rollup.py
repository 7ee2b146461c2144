"""The sales rollup folds each payment and refund into the summaries exactly once, on its local day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import CustomerDay, MerchantSalesDaily, Payment, ProductSalesDaily, Refund, SalesDaily
from app.services.orders import ordering, payments
from app.services.reports import sales_rollup
from app.services.reports.sales_reports import Period, overview
from tests.support import sales
from tests.support.sales import DAY0, local
from tests.support.threads import run_at_once


@pytest.fixture
def shop(app, make_merchant, make_product, make_window, make_leader, make_point):
    return sales.build(make_merchant, make_product, make_window, make_leader, make_point)


def _sum(column) -> int:
    return int(db.session.scalar(select(func.coalesce(func.sum(column), 0))))


def test_rollup_matches_the_orders_and_a_rerun_adds_nothing(shop, make_order):
    for n in range(6):
        sales.sell(shop, make_order, at=DAY0 + timedelta(hours=n), lines=[(0, 1 + n % 3), (1, 1)], point=n % 2)
    assert sales_rollup.roll_up_sales() == 6
    gmv, orders = sales.direct_totals(shop.merchant.id, DAY0 - timedelta(days=1), DAY0 + timedelta(days=1))
    assert (_sum(SalesDaily.paid_fen), _sum(SalesDaily.orders_count)) == (gmv, orders) == (gmv, 6)
    assert _sum(ProductSalesDaily.sales_fen) == _sum(MerchantSalesDaily.paid_fen) == gmv
    assert _sum(SalesDaily.units) == _sum(ProductSalesDaily.units) == sum(1 + n % 3 + 1 for n in range(6))

    assert sales_rollup.roll_up_sales() == 0
    assert _sum(SalesDaily.paid_fen) == gmv
    assert db.session.scalar(select(func.count()).where(Payment.summarized.is_(False))) == 0


def test_payment_counts_on_the_deployments_local_day(shop, make_order):
    # 17:30 UTC on the 20th is 01:30 on the 21st in Shanghai.
    sales.sell(shop, make_order, at=DAY0.replace(hour=17, minute=30), lines=[(0, 1)])
    sales_rollup.roll_up_sales()
    assert db.session.scalar(select(SalesDaily.day)) == date(2026, 11, 21)
    assert db.session.scalar(select(CustomerDay.day)) == date(2026, 11, 21)


def test_refund_counts_on_the_day_it_was_made_against_the_orders_point(shop, make_order):
    order = sales.sell(shop, make_order, at=local(date(2026, 11, 20)), lines=[(0, 2)], point=1)
    sales.refund(order, 500, at=local(date(2026, 11, 23)), reason="shortage")
    sales_rollup.roll_up_sales()
    refund_row = db.session.execute(
        select(SalesDaily.day, SalesDaily.pickup_point_id, SalesDaily.refunded_fen, SalesDaily.shortage_fen).where(
            SalesDaily.refunds_count > 0
        )
    ).one()
    assert tuple(refund_row) == (date(2026, 11, 23), shop.points[1].id, 500, 500)
    first_day = overview(shop.merchant.id, Period(date(2026, 11, 20), date(2026, 11, 20)))
    assert (first_day.gmv_fen, first_day.refunded_fen) == (order.total_fen, 0)


def test_a_late_payment_and_its_automatic_refund_are_not_sales(shop, make_order):
    with sales.clock.frozen_at(DAY0):
        order = make_order(shop.window, shop.points[0], [(shop.items[0], 1)], status="pending_payment")
        ordering.cancel_order(order.access_token)
        payments.record_payment(order, "offline", "late-1", order.total_fen, "test")
        db.session.commit()
    assert db.session.scalar(select(Payment.late)) is True
    assert db.session.scalar(select(Refund.reason)) == "late_payment"
    assert sales_rollup.roll_up_sales() == 2  # both ledger rows are marked as folded...
    assert db.session.scalar(select(func.count()).select_from(SalesDaily)) == 0  # ...and count for nothing


def test_two_rollups_at_once_fold_every_payment_exactly_once(app, shop, make_order):
    for n in range(30):
        sales.sell(shop, make_order, at=DAY0 + timedelta(minutes=n), lines=[(0, 1)], point=n % 2)
    for order in shop.orders[:10]:
        sales.refund(order, 100, at=DAY0 + timedelta(hours=2))
    expected_gmv = sum(o.total_fen for o in shop.orders)

    outcomes = run_at_once(app, lambda: sales_rollup.roll_up_sales(batch_size=4), times=3)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    sales_rollup.roll_up_sales()  # whatever a racing roller gave up is folded by the next tick

    assert sum(outcomes) <= 40
    assert _sum(SalesDaily.paid_fen) == expected_gmv
    assert _sum(SalesDaily.orders_count) == 30
    assert _sum(SalesDaily.refunded_fen) == _sum(MerchantSalesDaily.refunded_fen) == 1000
    assert _sum(MerchantSalesDaily.orders_count) == 30
    assert _sum(ProductSalesDaily.units) == 30


def test_a_rollup_that_fails_half_way_leaves_its_rows_for_the_next_run(shop, make_order, monkeypatch):
    sales.sell(shop, make_order, at=DAY0, lines=[(0, 1)])

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(sales_rollup, "_add", crash)
    with pytest.raises(RuntimeError):
        sales_rollup.roll_up_sales()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(Payment.summarized.is_(False))) == 1
    assert db.session.scalar(select(func.count()).select_from(SalesDaily)) == 0

    monkeypatch.undo()
    assert sales_rollup.roll_up_sales() == 1
    assert _sum(SalesDaily.orders_count) == 1


def test_merchants_are_summarized_apart(
    shop, make_order, make_merchant, make_product, make_window, make_leader, make_point
):
    other = sales.build(make_merchant, make_product, make_window, make_leader, make_point)
    sales.sell(shop, make_order, at=DAY0, lines=[(0, 1)])
    sales.sell(other, make_order, at=DAY0, lines=[(1, 3)])
    sales.sell(other, make_order, at=DAY0, lines=[(1, 1)])
    assert sales_rollup.pending_rows(other.merchant.id) == 2
    sales_rollup.roll_up_sales()
    assert sales_rollup.pending_rows(other.merchant.id) == 0
    period = Period(DAY0.date(), DAY0.date())
    mine, theirs = overview(shop.merchant.id, period), overview(other.merchant.id, period)
    assert (mine.orders, mine.gmv_fen) == (1, 2990)
    assert (theirs.orders, theirs.gmv_fen, theirs.units) == (2, 4 * 3990, 4)
