"""A line is refunded once for the same units, however the refunds race (DESIGN.md §4.10), against
a real server and database: merchants approving after-sales requests for whole lines at the very
moment the leader confirms the arrival that finds those same units short. Each line is paid back
once (by the approval or by the shortage, whichever came first) and never beyond its price."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AfterSalesRequest, DeliveryBatch, MerchantMember, OrderItem, Refund, User
from app.services.orders import after_sales
from tests.conftest import PASSWORD
from tests.support.forms import csrf_from, logged_in_session
from tests.support.money import assert_money_adds_up, paid_online
from tests.support.pickup import Bags, items_of

ORDERS = 6
PEACHES, PEACH_FEN = 8, 2200  # the ¥176 line
PLUMS, PLUM_FEN = 10, 2300  # enough room on the order for a second ¥176, were only the order capped


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


def _scalar(stmt):
    db.session.rollback()  # a fresh snapshot: on SQLite an old read would hide the server's writes
    return db.session.scalar(stmt)


def test_approvals_racing_the_arrival_that_finds_the_same_units_short_refund_each_line_once(
    live_server, bags, make_merchant, make_product, make_window, make_point
):
    merchant = make_merchant()
    peach = make_product(merchant, name="水蜜桃", price_fen=PEACH_FEN)
    plum = make_product(merchant, name="李子", price_fen=PLUM_FEN)
    window = make_window(merchant, items=[{"product": peach}, {"product": plum}])
    point = make_point()
    orders, requests_ = [], []
    for _ in range(ORDERS):
        bag = bags.make(window=window, point=point, status="confirmed", quantities=(PEACHES, PLUMS))
        paid_online(bag.order)
        line = items_of(bag.order)[0]
        req = after_sales.open_request(
            bag.order, item_id=line.id, reason="missing", quantity=PEACHES, note="", photo=None, opened_by="customer"
        )
        orders.append(bag.order.id)
        requests_.append(req.id)
    batch_id, leader_phone = bag.batch.id, bag.leader.user.phone
    owner = db.session.get(
        User, db.session.scalar(select(MerchantMember.user_id).where(MerchantMember.merchant_id == merchant.id))
    )
    db.session.commit()  # no open transaction: on SQLite it would hold the write lock

    # Every form is loaded (and its CSRF token read) first; only the submits race.
    url = live_server.url
    plans = []
    for request_id in requests_:
        session = logged_in_session(url, owner.phone, PASSWORD)
        token = csrf_from(session.get(f"{url}/merchant/after-sales/{request_id}", timeout=30).text)
        data = {"csrf_token": token, "action": "approve", "amount": f"{PEACHES * PEACH_FEN / 100:.2f}", "note": ""}
        plans.append((session, f"{url}/merchant/after-sales/{request_id}/decide", data))
    leader = logged_in_session(url, leader_phone, PASSWORD)
    token = csrf_from(leader.get(f"{url}/leader/batches/{batch_id}", timeout=30).text)
    short = {f"shortage-{peach.id}": str(PEACHES * ORDERS), "csrf_token": token}
    plans.append((leader, f"{url}/leader/batches/{batch_id}/arrival", short))
    barrier = threading.Barrier(len(plans))

    def submit(plan) -> int:
        session, target, data = plan
        barrier.wait(timeout=60)
        return session.post(target, data=data, allow_redirects=False, timeout=120).status_code

    with ThreadPoolExecutor(max_workers=len(plans)) as pool:
        *decisions, arrival = pool.map(submit, plans)

    assert arrival == 302 and _scalar(select(DeliveryBatch.status).where(DeliveryBatch.id == batch_id)) == "arrived"
    # An approval either went first (303) or found the line paid back by the shortage: refused
    # by the form (422) or by the line's compare-and-set (409), with nothing written.
    assert set(decisions) <= {303, 409, 422}, decisions
    approved = decisions.count(303)
    for order_id in orders:
        refunds = db.session.execute(select(Refund.reason, Refund.amount_fen).where(Refund.order_id == order_id)).all()
        assert len(refunds) == 1 and refunds[0].amount_fen == PEACHES * PEACH_FEN, (order_id, refunds)
    reasons = Counter(r for (r,) in db.session.execute(select(Refund.reason)))
    assert reasons == Counter({"after_sales": approved, "shortage": ORDERS - approved}) - Counter()
    statuses = Counter(db.session.scalars(select(AfterSalesRequest.status)))
    assert statuses == Counter({"approved": approved, "open": ORDERS - approved}) - Counter()
    peach_lines = select(func.count()).select_from(OrderItem).where(OrderItem.product_id == peach.id)
    assert _scalar(peach_lines.where(OrderItem.shortage_qty == PEACHES)) == ORDERS
    assert_money_adds_up()
