"""The one copy of the refund rules: a close's many refunds and a single one behave alike."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditRecord, Order, Refund
from app.services import clock, ordering, payments, refunds
from app.services.errors import InvalidTransition, RefundTooLarge
from tests.support.shop import ShopBuilder


@pytest.fixture
def paid_orders(app, make_product, make_window, make_leader, make_point, make_share_link):
    """Three paid orders of 2,500 fen: two online (simulator), one in cash (offline)."""
    shop = ShopBuilder(make_product, make_window, make_leader, make_point, make_share_link)(stock=20, price_fen=1250)
    orders = [ordering.place_order(shop.slug, **shop.order_args(2)) for _ in range(3)]
    for n, order in enumerate(orders):
        provider = "offline" if n == 2 else "simulator"
        payments.record_payment(order, provider, f"ref-{n}", order.total_fen, "test")
    db.session.commit()
    return [order.id for order in orders]


def _state():
    db.session.expire_all()
    return (
        db.session.execute(select(Order.id, Order.refunded_fen).order_by(Order.id)).all(),
        db.session.scalar(select(func.count()).select_from(Refund)),
        db.session.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "refund")),
    )


def test_many_refunds_each_go_back_through_the_provider_that_took_the_money(paid_orders):
    a, b, cash = paid_orders
    done = refunds.refund_orders([(a, 2500), (b, 700), (cash, 2500)], reason="group_failed", actor="t", now=clock.now())
    db.session.commit()

    assert {o: (r.amount_fen, r.status) for o, r in done.items()} == {
        a: (2500, "succeeded"),
        b: (700, "succeeded"),
        cash: (2500, "pending"),  # the leader hands the cash back
    }
    rows = {r.order_id: r for r in db.session.scalars(select(Refund))}
    assert {o: rows[o].id for o in rows} == {o: r.refund_id for o, r in done.items()}
    audits = {
        r.object_id: r.detail for r in db.session.scalars(select(AuditRecord).where(AuditRecord.action == "refund"))
    }
    assert audits[b] == {
        "refund_id": done[b].refund_id,
        "payment_id": done[b].payment_id,
        "amount_fen": 700,
        "reason": "group_failed",
        "status": "succeeded",
    }
    assert _state()[0] == [(a, 2500), (b, 700), (cash, 2500)]


def test_one_order_over_its_payment_refuses_the_whole_call(paid_orders):
    a, b, _cash = paid_orders
    payments.refund(db.session.get(Order, b), 2000, "shortage", "t")
    db.session.commit()
    before = _state()

    with pytest.raises(RefundTooLarge):
        refunds.refund_orders([(a, 2500), (b, 501)], reason="group_failed", actor="t", now=clock.now())
    db.session.rollback()
    assert _state() == before


def test_an_order_without_payment_refuses_the_whole_call(paid_orders, app):
    a, _b, _cash = paid_orders
    before = _state()
    with pytest.raises(InvalidTransition):
        refunds.refund_orders([(a, 100), (10**9, 100)], reason="group_failed", actor="t", now=clock.now())
    db.session.rollback()
    assert _state() == before


def test_two_refunds_of_one_order_in_one_call_are_refused(paid_orders):
    a, _b, _cash = paid_orders
    with pytest.raises(ValueError, match="one refund per order"):
        refunds.refund_orders([(a, 100), (a, 100)], reason="group_failed", actor="t", now=clock.now())


def test_a_single_refund_finds_its_own_row_beside_earlier_ones(paid_orders):
    a, _b, _cash = paid_orders
    order = db.session.get(Order, a)
    first = payments.refund(order, 1000, "shortage", "t")
    second = payments.refund(order, 1500, "after_sales", "t")
    db.session.commit()
    assert (first.amount_fen, first.reason, second.amount_fen, second.reason) == (1000, "shortage", 1500, "after_sales")
    assert first.id != second.id
