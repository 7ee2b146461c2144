"""The one copy of the refund rules: a close's many refunds and a single one behave alike, and
no line is ever refunded beyond what was paid for it, whatever room its order still has."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditRecord, Order, OrderItem, Refund
from app.services.core import clock
from app.services.core.errors import InvalidTransition, RefundTooLarge
from app.services.orders import ordering, payments, refunds
from tests.support.money import assert_money_adds_up
from tests.support.shop import ShopBuilder


@pytest.fixture
def shop(make_product, make_window, make_leader, make_point, make_share_link):
    return ShopBuilder(make_product, make_window, make_leader, make_point, make_share_link)


@pytest.fixture
def paid_orders(app, shop):
    """Three paid orders of one 2,500 fen line: two online (simulator), one in cash (offline)."""
    s = shop(stock=20, price_fen=1250)
    orders = [ordering.place_order(s.slug, **s.order_args(2)) for _ in range(3)]
    for n, order in enumerate(orders):
        provider = "offline" if n == 2 else "simulator"
        payments.record_payment(order, provider, f"ref-{n}", order.total_fen, "test")
    db.session.commit()
    return [order.id for order in orders]


@pytest.fixture
def two_lines(app, shop):
    """A paid order of two lines: 2 × 1,250 and 1 × 1,250 fen (3,750 in all)."""
    s = shop(stock=20, price_fen=1250, n_items=2)
    order = ordering.place_order(s.slug, **s.order_args(lines={s.items[0].id: 2, s.items[1].id: 1}))
    payments.record_payment(order, "simulator", "ref-two", order.total_fen, "test")
    db.session.commit()
    return order.id, _lines(order.id)


def _lines(order_id: int) -> list[int]:
    return list(db.session.scalars(select(OrderItem.id).where(OrderItem.order_id == order_id).order_by(OrderItem.id)))


def _line(order_id: int) -> int:
    return _lines(order_id)[0]


def _state():
    db.session.expire_all()
    return (
        db.session.execute(select(Order.id, Order.refunded_fen).order_by(Order.id)).all(),
        db.session.execute(select(OrderItem.id, OrderItem.refunded_fen).order_by(OrderItem.id)).all(),
        db.session.scalar(select(func.count()).select_from(Refund)),
        db.session.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "refund")),
    )


@pytest.fixture
def provider_calls(monkeypatch):
    """Every refund a provider was asked for, as (order id, fen)."""
    calls = []
    real = refunds.get_provider

    class Counting:
        def __init__(self, provider):
            self.provider = provider

        def refund(self, payment, amount):
            calls.append((payment.order_id, amount))
            return self.provider.refund(payment, amount)

    monkeypatch.setattr(refunds, "get_provider", lambda name: Counting(real(name)))
    return calls


def test_many_refunds_each_go_back_through_the_provider_that_took_the_money(paid_orders):
    a, b, cash = paid_orders
    owed = {a: {_line(a): 2500}, b: {_line(b): 700}, cash: {_line(cash): 2500}}
    done = refunds.refund_orders(owed, reason="group_failed", actor="t", now=clock.now())
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
        "lines": {str(_line(b)): 700},
    }
    orders, lines, _refunds, _audits = _state()
    assert orders == [(a, 2500), (b, 700), (cash, 2500)]
    assert [fen for _id, fen in lines] == [2500, 700, 2500]
    assert_money_adds_up()


def test_one_order_over_its_payment_refuses_the_whole_call(paid_orders, provider_calls):
    a, b, _cash = paid_orders
    payments.refund(db.session.get(Order, b), 2000, "shortage", "t")
    db.session.commit()
    before, asked = _state(), len(provider_calls)

    with pytest.raises(RefundTooLarge):
        refunds.refund_orders(
            {a: {_line(a): 2500}, b: {_line(b): 501}}, reason="group_failed", actor="t", now=clock.now()
        )
    db.session.rollback()
    assert _state() == before and len(provider_calls) == asked


def test_a_line_is_never_refunded_beyond_its_price_though_its_order_has_room(two_lines, provider_calls):
    order_id, (first, second) = two_lines
    payments.refund_lines(db.session.get(Order, order_id), {first: 2500}, "after_sales", "t")
    db.session.commit()
    before = _state()

    for too_much in ({first: 1}, {second: 1251}, {first: 1, second: 1}):
        with pytest.raises(RefundTooLarge):
            payments.refund_lines(db.session.get(Order, order_id), too_much, "after_sales", "t")
        db.session.rollback()
        assert _state() == before  # the order still had 1,250 fen of room: the line said no
    assert provider_calls == [(order_id, 2500)]
    payments.refund_lines(db.session.get(Order, order_id), {second: 1250}, "after_sales", "t")
    db.session.commit()
    assert db.session.get(Order, order_id).refunded_fen == 3750
    assert_money_adds_up()


def test_a_line_of_another_order_is_refused(paid_orders, provider_calls):
    a, b, _cash = paid_orders
    before = _state()
    with pytest.raises(RefundTooLarge):
        refunds.refund_orders({a: {_line(b): 100}}, reason="after_sales", actor="t", now=clock.now())
    db.session.rollback()
    assert _state() == before and provider_calls == []


def test_an_order_without_payment_refuses_the_whole_call(paid_orders, shop):
    a, _b, _cash = paid_orders
    s = shop(stock=5)
    unpaid = ordering.place_order(s.slug, **s.order_args(1))
    before = _state()
    with pytest.raises(InvalidTransition):
        refunds.refund_orders(
            {a: {_line(a): 100}, unpaid.id: {_line(unpaid.id): 100}}, reason="group_failed", actor="t", now=clock.now()
        )
    db.session.rollback()
    assert _state() == before


def test_an_order_level_refund_is_taken_from_its_lines_in_order(two_lines):
    order_id, (first, second) = two_lines
    payments.refund(db.session.get(Order, order_id), 3000, "shortage", "t")
    db.session.commit()
    assert dict(_state()[1]) == {first: 2500, second: 500}
    with pytest.raises(RefundTooLarge):
        payments.refund(db.session.get(Order, order_id), 751, "shortage", "t")
    db.session.rollback()
    payments.refund_everything_left(db.session.get(Order, order_id), "customer_cancelled", "t")
    db.session.commit()
    assert dict(_state()[1]) == {first: 2500, second: 1250}
    assert payments.refund_everything_left(db.session.get(Order, order_id), "customer_cancelled", "t") is None
    assert_money_adds_up()


def test_a_single_refund_finds_its_own_row_beside_earlier_ones(paid_orders):
    a, _b, _cash = paid_orders
    order = db.session.get(Order, a)
    first = payments.refund(order, 1000, "shortage", "t")
    second = payments.refund(order, 1500, "after_sales", "t")
    db.session.commit()
    assert (first.amount_fen, first.reason, second.amount_fen, second.reason) == (1000, "shortage", 1500, "after_sales")
    assert first.id != second.id
