import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import DeliveryBatch, Order
from app.services.accounts import tokens
from tests.support.forms import csrf_from
from tests.support.pickup import Bags, items_of


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


def test_batch_page_shows_the_picking_list_and_arrival_form(client, login, bags):
    bag = bags.make(status="confirmed", quantities=(3,))
    login(bag.leader.user)
    assert f"/leader/batches/{bag.batch.id}" in client.get("/leader/batches").get_data(as_text=True)
    html = client.get(f"/leader/batches/{bag.batch.id}").get_data(as_text=True)
    product_id = bag.order.items[0].product_id
    assert f'name="shortage-{product_id}"' in html and bag.order.items[0].product_name in html


def test_confirm_arrival_with_a_shortage(client, login, bags):
    bag = bags.make(status="confirmed", quantities=(3,))
    login(bag.leader.user)
    page = f"/leader/batches/{bag.batch.id}"
    product_id = bag.order.items[0].product_id
    response = client.post(
        f"{page}/arrival",
        data={
            f"shortage-{product_id}": "1",
            "csrf_token": csrf_from(client.get(page).get_data(as_text=True)),
        },
    )
    assert response.status_code == 302
    assert db.session.get(DeliveryBatch, bag.batch.id, populate_existing=True).status == "arrived"
    assert db.session.get(Order, bag.order.id, populate_existing=True).status == "ready_for_pickup"
    assert items_of(bag.order)[0].shortage_qty == 1


@pytest.mark.parametrize("value", ["abc", "-1", "4", "1.5", "99999999999"])
def test_bad_shortage_is_a_field_error_and_changes_nothing(client, login, bags, value):
    bag = bags.make(status="confirmed", quantities=(3,))
    login(bag.leader.user)
    page = f"/leader/batches/{bag.batch.id}"
    product_id = bag.order.items[0].product_id
    response = client.post(
        f"{page}/arrival",
        data={
            f"shortage-{product_id}": value,
            "csrf_token": csrf_from(client.get(page).get_data(as_text=True)),
        },
    )
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    assert db.session.get(DeliveryBatch, bag.batch.id, populate_existing=True).status == "dispatched"


def test_another_leaders_batch_is_404(client, login, bags, make_leader):
    bag = bags.make(status="confirmed")
    login(make_leader().user)
    assert client.get(f"/leader/batches/{bag.batch.id}").status_code == 404
    token = csrf_from(client.get("/leader/batches").get_data(as_text=True))
    assert client.post(f"/leader/batches/{bag.batch.id}/arrival", data={"csrf_token": token}).status_code == 404


def test_home_counts_bags_waiting_for_pickup(client, login, bags):
    bag = bags.make()
    login(bag.leader.user)
    html = client.get("/leader/").get_data(as_text=True)
    assert 'data-testid="waiting-pickup">1<' in html


def test_api_confirms_arrival(client, bags):
    bag = bags.make(status="confirmed", quantities=(2,))
    _token, plain = tokens.create_token(bag.leader.user, "pwa")
    auth = {"Authorization": f"Bearer {plain}"}
    product_id = bag.order.items[0].product_id
    url = f"/api/v1/leader/batches/{bag.batch.id}/arrival"
    bad = client.post(url, json={"shortages": {str(product_id): 5}}, headers=auth)
    assert bad.status_code == 422 and str(product_id) in bad.get_json()["error"]["fields"]
    assert client.post(url, json={"shortages": {"x": 1}}, headers=auth).status_code == 422
    response = client.post(url, json={"shortages": {str(product_id): 0}}, headers=auth)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "arrived"
    assert client.post(url, json={}, headers=auth).status_code == 409
    assert db.session.scalar(select(Order.status)) == "ready_for_pickup"
