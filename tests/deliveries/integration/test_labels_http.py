"""Label and ticket downloads over HTTP: scoped to the leader's or staff member's points, never a 500."""

import pytest

from app.extensions import db
from app.models import Order
from app.services.deliveries import slots
from tests.support.pickup import Bags


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


@pytest.fixture
def bag(bags):
    bag = bags.make(name="王小明")
    slots.assign_slots(bag.batch.id)
    db.session.commit()
    return bag


def _is_inline_pdf(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert response.data.startswith(b"%PDF")


def test_leader_opens_the_batch_labels_in_every_layout(client, login, bag):
    login(bag.leader.user)
    html = client.get(f"/leader/batches/{bag.batch.id}").get_data(as_text=True)
    assert f"/leader/batches/{bag.batch.id}/labels.pdf" in html
    for layout in ("40x30", "50x30", "60x40", "a4", "ticket58"):
        _is_inline_pdf(client.get(f"/leader/batches/{bag.batch.id}/labels.pdf?layout={layout}"))
    _is_inline_pdf(client.get(f"/leader/batches/{bag.batch.id}/labels.pdf"))


def test_same_batch_downloads_the_same_bytes(client, login, bag):
    login(bag.leader.user)
    url = f"/leader/batches/{bag.batch.id}/labels.pdf?layout=a4"
    assert client.get(url).data == client.get(url).data


def test_another_leaders_batch_is_not_found(client, login, bag, make_leader):
    other = make_leader()
    login(other.user)
    assert client.get(f"/leader/batches/{bag.batch.id}/labels.pdf").status_code == 404
    assert client.get("/leader/batches/99999999/labels.pdf").status_code == 404


@pytest.mark.parametrize("layout", ["99x99", "", "A4 ", "<script>"])
def test_bad_layout_is_a_clear_client_error(client, login, bag, layout):
    login(bag.leader.user)
    response = client.get(f"/leader/batches/{bag.batch.id}/labels.pdf", query_string={"layout": layout})
    if layout == "":
        _is_inline_pdf(response)  # empty means the default layout
        return
    assert response.status_code == 422
    assert "layout" in response.get_data(as_text=True).lower()


def test_staff_prints_from_the_counter(client, login, bag):
    login(bag.staff)
    assert "/pickup/labels" in client.get("/pickup/").get_data(as_text=True)
    html = client.get("/pickup/labels").get_data(as_text=True)
    assert f"/pickup/batches/{bag.batch.id}/labels.pdf?layout=a4" in html
    _is_inline_pdf(client.get(f"/pickup/batches/{bag.batch.id}/labels.pdf?layout=50x30"))
    _is_inline_pdf(client.get(f"/pickup/orders/{bag.order.id}/ticket.pdf"))
    assert client.get(f"/pickup/batches/{bag.batch.id}/labels.pdf?layout=nope").status_code == 422


def test_staff_of_another_point_gets_not_found(client, login, bag, bags):
    other = bags.make()
    login(other.staff)
    assert client.get(f"/pickup/batches/{bag.batch.id}/labels.pdf").status_code == 404
    assert client.get(f"/pickup/orders/{bag.order.id}/ticket.pdf").status_code == 404
    assert f"batch-{bag.batch.id}" not in client.get("/pickup/labels").get_data(as_text=True)


def test_ticket_of_an_order_not_waiting_is_not_found(client, login, bag):
    db.session.execute(db.update(Order).where(Order.id == bag.order.id).values(status="refunded"))
    db.session.commit()
    login(bag.staff)
    assert client.get(f"/pickup/orders/{bag.order.id}/ticket.pdf").status_code == 404


def test_wrong_role_is_refused(client, login, bag, make_user):
    customer = make_user("路人")
    login(customer)
    assert client.get(f"/leader/batches/{bag.batch.id}/labels.pdf").status_code == 403
    assert client.get(f"/pickup/batches/{bag.batch.id}/labels.pdf").status_code == 403
    assert client.get(f"/pickup/orders/{bag.order.id}/ticket.pdf").status_code == 403
    # Staff are not leaders: the leader's URL is refused even for their own point's batch.
    client.get("/auth/logout")
    login(bag.staff)
    assert client.get(f"/leader/batches/{bag.batch.id}/labels.pdf").status_code == 403


def test_anonymous_is_asked_to_log_in(client, bag):
    assert client.get(f"/pickup/batches/{bag.batch.id}/labels.pdf").status_code in (302, 401)


def test_missing_font_is_a_clear_error_not_a_500(client, login, bag, monkeypatch, tmp_path):
    monkeypatch.setenv("LABEL_FONT_PATH", str(tmp_path / "missing.ttf"))
    login(bag.leader.user)
    response = client.get(f"/leader/batches/{bag.batch.id}/labels.pdf")
    assert response.status_code == 503
    assert "fonts-wqy-zenhei" in response.get_data(as_text=True)
