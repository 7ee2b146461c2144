from sqlalchemy import func, select

from app.extensions import db
from app.models import DeliveryBatch, Leader, Order, PickupCode, PickupPoint, Product, User, Window
from app.services.demo import seed_demo


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_demo_seed_builds_the_whole_loop_once(app):
    lines = seed_demo()
    assert "Demo data seeded." in lines and any("13800000004" in line for line in lines)
    assert _count(Product) == 20 and _count(Leader) == 2 and _count(PickupPoint) == 3
    assert _count(Window, Window.status == "open") == 1 and _count(Window, Window.status == "closed") == 1
    assert _count(Order, Order.status == "cancelled") == 1  # the unpaid order, cancelled at close
    assert _count(DeliveryBatch, DeliveryBatch.status == "arrived") == 1
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
