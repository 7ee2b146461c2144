"""No order line is ever refunded beyond what was paid for it (DESIGN.md §4.10), whichever path
refunds it: after-sales, shortages at arrival, a failed group at the close, a customer's cancel,
a late payment. The after-sales story that broke it is told through the pages customers,
merchants and leaders use: a ¥176 line refunded ¥192 by a second request for the same units."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.extensions import db
from app.models import AfterSalesRequest, Order, OrderItem, Refund, User
from app.services.closing import closing
from app.services.core.errors import RefundTooLarge
from app.services.orders import after_sales, ordering, payments
from tests.support.batches import place
from tests.support.forms import csrf_from
from tests.support.money import assert_money_adds_up, paid_online
from tests.support.pickup import Bags, items_of
from tests.support.shop import ShopBuilder

PEACH_FEN, PLUM_FEN = 2200, 2300  # 8 peaches ¥176 + 3 plums ¥69 = an order of ¥245


@pytest.fixture(autouse=True)
def own_upload_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


@pytest.fixture
def peaches(make_merchant, make_product, make_window):
    """A window selling peaches at ¥22 and plums at ¥23."""
    merchant = make_merchant()
    peach = make_product(merchant, name="水蜜桃", price_fen=PEACH_FEN)
    plum = make_product(merchant, name="李子", price_fen=PLUM_FEN)
    return make_window(merchant, items=[{"product": peach}, {"product": plum}])


def _paid_bag(bags, window, *, status="ready_for_pickup", point=None):
    """8 peaches and 3 plums, paid online (¥245), at a point with staff."""
    bag = bags.make(window=window, quantities=(8, 3), status=status, point=point)
    paid_online(bag.order)
    return bag


def _collected(order: Order) -> None:
    """The customer took the whole bag home."""
    for item in items_of(order):
        item.redeemed_qty, item.status = item.quantity - item.shortage_qty, "redeemed"
    order = db.session.get(Order, order.id)
    order.status, order.completed_at = "completed", datetime.now(UTC)
    db.session.commit()


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (180, 60, 60)).save(out, "JPEG")
    return out.getvalue()


def _customer_asks(customer, order: Order, item_id: int, quantity: int):
    page = customer.get(f"/o/{order.access_token}").get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(page),
        "item_id": str(item_id),
        "reason": "quality",
        "quantity": str(quantity),
        "note": "烂了",
        "photo": (io.BytesIO(_jpeg()), "p.jpg"),
    }
    return customer.post(f"/o/{order.access_token}/after-sales", data=data, content_type="multipart/form-data")


def _merchant_refunds(merchant, request_id: int, amount: str):
    page = merchant.get(f"/merchant/after-sales/{request_id}").get_data(as_text=True)
    return merchant.post(
        f"/merchant/after-sales/{request_id}/decide",
        data={"csrf_token": csrf_from(page), "action": "approve", "amount": amount, "note": ""},
    )


def _merchant_client(app, login, window) -> object:
    from app.models import MerchantMember

    user_id = db.session.scalar(select(MerchantMember.user_id).where(MerchantMember.merchant_id == window.merchant_id))
    return login(db.session.get(User, user_id), c=app.test_client())


def _latest_request() -> AfterSalesRequest:
    db.session.expire_all()
    return db.session.scalar(select(AfterSalesRequest).order_by(AfterSalesRequest.id.desc()))


def _refunded(order: Order) -> tuple[int, int]:
    """(the order's refunded_fen, the sum of its Refund rows): both, so neither can hide the other."""
    db.session.expire_all()
    total = db.session.scalar(select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(Refund.order_id == order.id))
    return db.session.get(Order, order.id).refunded_fen, int(total)


# ---- after-sales: the story of the ¥176 line refunded ¥192


def test_a_second_request_for_units_already_refunded_is_refused_and_the_line_stops_at_its_price(
    app, client, login, bags, peaches
):
    bag = _paid_bag(bags, peaches)
    _collected(bag.order)
    peach_line = items_of(bag.order)[0]
    merchant = _merchant_client(app, login, peaches)

    # Four peaches were bad: the merchant refunds them (¥88).
    assert _customer_asks(client, bag.order, peach_line.id, 4).status_code == 303
    first = _latest_request()
    assert _merchant_refunds(merchant, first.id, "88.00").status_code == 303

    # The same customer asks again for all eight: four of them were settled already.
    again = _customer_asks(client, bag.order, peach_line.id, 8)
    assert again.status_code == 422
    assert "Only 4 of this item can still get after-sales" in again.get_data(as_text=True) or (
        "只剩 4 件" in again.get_data(as_text=True)
    )
    assert db.session.scalar(select(func.count()).select_from(AfterSalesRequest)) == 1

    # The other four may still be asked for, and refunded at most at what is left (¥88).
    assert _customer_asks(client, bag.order, peach_line.id, 4).status_code == 303
    second = _latest_request()
    too_much = _merchant_refunds(merchant, second.id, "104.00")
    assert too_much.status_code == 422 and "¥88.00" in too_much.get_data(as_text=True)
    assert _refunded(bag.order) == (8800, 8800)
    assert _merchant_refunds(merchant, second.id, "88.00").status_code == 303

    # Every peach has had its request now: the line is no longer offered and cannot be asked for.
    page = client.get(f"/o/{bag.order.access_token}").get_data(as_text=True)
    assert f'<option value="{peach_line.id}"' not in page
    last = _customer_asks(client, bag.order, peach_line.id, 1)
    assert last.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(AfterSalesRequest)) == 2
    assert _refunded(bag.order) == (17600, 17600)  # the ¥176 line, never ¥192; the order never ¥245
    assert db.session.get(OrderItem, peach_line.id).refunded_fen == 17600
    assert_money_adds_up()


def test_a_request_still_open_from_before_cannot_refund_a_line_already_refunded(app, client, login, bags, peaches):
    """A second request for the same units that an older version let through stays decidable
    only by rejection: approving it is refused, writes nothing, and asks no provider."""
    bag = _paid_bag(bags, peaches)
    peach_line = items_of(bag.order)[0]
    merchant = _merchant_client(app, login, peaches)
    assert _customer_asks(client, bag.order, peach_line.id, 8).status_code == 303
    assert _merchant_refunds(merchant, _latest_request().id, "176.00").status_code == 303
    stale = AfterSalesRequest(
        order_id=bag.order.id,
        order_item_id=peach_line.id,
        merchant_id=peaches.merchant_id,
        leader_id=bag.order.leader_id,
        reason="quality",
        quantity=8,
        opened_by="customer",
        open_item_id=peach_line.id,
    )
    db.session.add(stale)
    db.session.commit()

    page = merchant.get(f"/merchant/after-sales/{stale.id}").get_data(as_text=True)
    assert 'data-testid="item-refunded"' in page
    refused = _merchant_refunds(merchant, stale.id, "16.00")
    assert refused.status_code == 422
    assert "Nothing is left to refund" in refused.get_data(as_text=True) or "已无可退金额" in refused.get_data(
        as_text=True
    )
    # Past the form (a page loaded before the first refund): the line's compare-and-set says no.
    with pytest.raises(RefundTooLarge):
        after_sales.decide(
            "user:1", db.session.get(AfterSalesRequest, stale.id), approve=True, refund_fen=1600, note=""
        )
    assert _latest_request().status == "open"
    assert _refunded(bag.order) == (17600, 17600)
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 1
    assert_money_adds_up()


# ---- shortages at arrival and after-sales on the same line


def _arrive(client, login, bag, short: dict[int, int]):
    login(bag.leader.user)
    page = f"/leader/batches/{bag.batch.id}"
    data = {f"shortage-{product_id}": str(units) for product_id, units in short.items()}
    return client.post(
        f"{page}/arrival", data={**data, "csrf_token": csrf_from(client.get(page).get_data(as_text=True))}
    )


def test_a_shortage_after_an_after_sales_refund_refunds_only_what_is_left_of_the_line(
    app, client, login, bags, peaches
):
    bag = _paid_bag(bags, peaches, status="confirmed")
    peach_line = items_of(bag.order)[0]
    merchant = _merchant_client(app, login, peaches)
    assert _customer_asks(app.test_client(), bag.order, peach_line.id, 8).status_code == 303
    assert _merchant_refunds(merchant, _latest_request().id, "176.00").status_code == 303

    assert _arrive(client, login, bag, {peach_line.product_id: 3}).status_code == 302
    assert items_of(bag.order)[0].shortage_qty == 3
    assert _refunded(bag.order) == (17600, 17600)  # not 176 + 66
    assert_money_adds_up()


def test_after_sales_after_a_shortage_claims_only_the_units_that_came(app, client, login, bags, peaches):
    bag = _paid_bag(bags, peaches, status="confirmed")
    peach_line = items_of(bag.order)[0]
    assert _arrive(client, login, bag, {peach_line.product_id: 3}).status_code == 302
    assert _refunded(bag.order) == (6600, 6600)

    customer = app.test_client()
    assert _customer_asks(customer, bag.order, peach_line.id, 6).status_code == 422
    assert _customer_asks(customer, bag.order, peach_line.id, 5).status_code == 303
    merchant = _merchant_client(app, login, peaches)
    assert _merchant_refunds(merchant, _latest_request().id, "110.01").status_code == 422
    assert _merchant_refunds(merchant, _latest_request().id, "110.00").status_code == 303
    assert _refunded(bag.order) == (17600, 17600)
    assert db.session.get(OrderItem, peach_line.id).refunded_fen == 17600
    assert_money_adds_up()


def test_a_bag_where_nothing_came_refunds_what_is_left_on_each_line(app, client, login, bags, peaches):
    bag = _paid_bag(bags, peaches, status="confirmed")
    peach, plum = items_of(bag.order)
    payments.refund_lines(db.session.get(Order, bag.order.id), {peach.id: 1000}, "after_sales", "test")
    db.session.commit()
    assert _arrive(client, login, bag, {peach.product_id: 8, plum.product_id: 3}).status_code == 302
    assert db.session.get(Order, bag.order.id).status == "refunded"
    assert [line.refunded_fen for line in items_of(bag.order)] == [17600, 6900]
    assert _refunded(bag.order) == (24500, 24500)
    assert_money_adds_up()


# ---- the close, a cancel, a late payment


def test_a_failed_group_refunds_each_failed_line_whole_and_nothing_more(
    app, frozen_clock, make_merchant, make_product, make_window, make_point, make_order
):
    merchant = make_merchant()
    peach = make_product(merchant, price_fen=PEACH_FEN)
    plum = make_product(merchant, price_fen=PLUM_FEN)
    window = make_window(
        merchant,
        items=[{"product": peach}, {"product": plum, "min_group": 50}],
        opens_at=frozen_clock.now - timedelta(hours=5),
        closes_at=frozen_clock.now - timedelta(minutes=1),
    )
    p, q = window.items
    point = make_point()
    both = place(make_order, window, point, [(p, 8), (q, 3)])
    only_plums = place(make_order, window, point, [(q, 2)])
    closing.close_window(window.id)
    assert [line.refunded_fen for line in items_of(both)] == [0, 6900]
    assert [line.refunded_fen for line in items_of(only_plums)] == [4600]
    assert _refunded(both) == (6900, 6900) and _refunded(only_plums) == (4600, 4600)
    assert_money_adds_up()


def test_a_cancel_refunds_each_line_once_and_a_late_payment_stays_on_the_order(
    app, make_product, make_window, make_leader, make_point, make_share_link
):
    shop = ShopBuilder(make_product, make_window, make_leader, make_point, make_share_link)(
        price_fen=PEACH_FEN, n_items=2
    )
    order = ordering.place_order(shop.slug, **shop.order_args(lines={shop.items[0].id: 8, shop.items[1].id: 3}))
    payments.record_payment(order, "simulator", "sim_first", order.total_fen, "test")
    db.session.commit()
    ordering.cancel_order(order.access_token)
    # The gateway delivers a second payment for the cancelled order: handed back on the order alone.
    payments.record_payment(db.session.get(Order, order.id), "simulator", "sim_again", order.total_fen, "test")
    db.session.commit()
    assert [line.refunded_fen for line in items_of(order)] == [8 * PEACH_FEN, 3 * PEACH_FEN]
    assert _refunded(order) == (2 * order.total_fen, 2 * order.total_fen)
    assert_money_adds_up()


# ---- every line, whatever is tried


def test_refunds_tried_at_random_never_take_a_line_beyond_its_price(app, bags, peaches):
    """A few hundred refunds of random lines and amounts through every entry point: each goes
    through exactly when it fits what is left on its line and its order, and the money adds up."""
    orders = [_paid_bag(bags, peaches).order for _ in range(3)]
    lines = {o.id: items_of(o) for o in orders}
    left = {line.id: line.line_total_fen for ls in lines.values() for line in ls}
    rng = random.Random(14)
    outcomes = {"refunded": 0, "refused": 0}
    for _ in range(300):
        order = rng.choice(orders)
        line = rng.choice(lines[order.id])
        amount = rng.randint(1, 9000)
        path = rng.choice(("line", "order"))
        order_left = sum(left[x.id] for x in lines[order.id])
        fits = amount <= (left[line.id] if path == "line" else order_left)
        try:
            if path == "line":
                payments.refund_lines(db.session.get(Order, order.id), {line.id: amount}, "after_sales", "t")
            else:
                payments.refund(db.session.get(Order, order.id), amount, "shortage", "t")
            db.session.commit()
        except RefundTooLarge:
            db.session.rollback()
            assert not fits
            outcomes["refused"] += 1
            continue
        assert fits
        outcomes["refunded"] += 1
        if path == "line":
            left[line.id] -= amount
        else:
            rest = amount
            for x in lines[order.id]:
                take = min(left[x.id], rest)
                left[x.id], rest = left[x.id] - take, rest - take
    assert outcomes["refunded"] > 10 and outcomes["refused"] > 10
    db.session.expire_all()
    assert {line.id: line.refundable_fen for ls in lines.values() for line in items_of(ls[0].order)} == left
    assert_money_adds_up()
