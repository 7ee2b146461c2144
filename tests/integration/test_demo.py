from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    DeliveryBatch,
    Leader,
    Order,
    Payment,
    PickupCode,
    PickupPoint,
    Product,
    SalesDaily,
    User,
    Window,
)
from app.services.demo import HISTORY_DAYS, seed_demo


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_demo_seed_builds_the_whole_loop_once(app):
    lines = seed_demo()
    assert "Demo data seeded." in lines and any("13800000004" in line for line in lines)
    assert _count(Product) == 20 and _count(Leader) == 2 and _count(PickupPoint) == 3
    # The open window, the one that closed an hour ago, and two weeks of daily group buys.
    assert _count(Window, Window.status == "open") == 1
    assert _count(Window, Window.status == "closed") == 1 + HISTORY_DAYS
    assert _count(Order, Order.status == "cancelled") == 1  # the unpaid order, cancelled at close
    assert _count(DeliveryBatch, DeliveryBatch.status == "arrived") == 1
    # The history was delivered and collected: every batch done, every order completed.
    history = select(Window.id).where(Window.title.like("每日鲜果团%"))
    assert _count(DeliveryBatch, DeliveryBatch.window_id.in_(history), DeliveryBatch.status != "done") == 0
    assert _count(Order, Order.window_id.in_(history), Order.status != "completed") == 0
    assert _count(Order, Order.window_id.in_(history)) >= 2 * HISTORY_DAYS
    # ...and the sales reports already show it.
    assert _count(Payment, Payment.summarized.is_(False)) == 0
    assert db.session.scalar(select(func.sum(SalesDaily.orders_count))) == _count(Payment, Payment.late.is_(False))
    assert _count(PickupCode, PickupCode.status == "issued") == _count(
        Order, Order.status.in_(["confirmed", "ready_for_pickup"])
    )
    before = {m.__name__: _count(m) for m in (User, Product, Order, Window)}
    again = seed_demo()
    assert again[0].startswith("Demo data already present")
    assert {m.__name__: _count(m) for m in (User, Product, Order, Window)} == before


def test_demo_logins_work(app, client):
    seed_demo()
    from tests.support.forms import csrf_from

    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"login": "13800000004", "password": "groupbuy123", "csrf_token": token})
    assert response.headers["Location"].endswith("/pickup/")
