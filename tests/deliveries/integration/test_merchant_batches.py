import pytest

from app.extensions import db
from app.models import DeliveryBatch
from tests.support.batches import make_batch, place
from tests.support.forms import csrf_from


@pytest.fixture
def shop(app, make_user, make_merchant, make_product, make_window, make_point, make_order):
    owner = make_user("老板")
    merchant = make_merchant(owner=owner)
    product = make_product(merchant, name="土鸡蛋")
    window = make_window(merchant, items=[{"product": product}], title="周末鸡蛋团")
    point = make_point(name="幸福小区自提点")
    batch = make_batch(window, point)
    place(make_order, window, point, [(window.items[0], 3)], status="confirmed", batch=batch, phone="13912345678")
    return {"owner": owner, "merchant": merchant, "window": window, "batch": batch, "product": product}


@pytest.fixture
def other_batch(make_merchant, make_product, make_window, make_point):
    merchant = make_merchant()
    window = make_window(merchant, items=[{"product": make_product(merchant)}], title="别家的团")
    return make_batch(window, make_point())


def _post(client, batch_id, action):
    token = csrf_from(client.get(f"/merchant/batches/{batch_id}").get_data(as_text=True))
    return client.post(f"/merchant/batches/{batch_id}/{action}", data={"csrf_token": token})


def _status(batch_id):
    db.session.expire_all()
    return db.session.get(DeliveryBatch, batch_id).status


def test_list_shows_own_batches_only(client, login, shop, other_batch):
    login(shop["owner"])
    page = client.get("/merchant/batches").get_data(as_text=True)
    assert "周末鸡蛋团" in page and "幸福小区自提点" in page
    assert "别家的团" not in page
    filtered = client.get("/merchant/batches?status=done").get_data(as_text=True)
    assert "幸福小区自提点" not in filtered
    assert client.get("/merchant/batches?window_id=abc&status=bogus").status_code == 200


def test_detail_shows_picking_and_masked_packing_lists(client, login, shop):
    login(shop["owner"])
    response = client.get(f"/merchant/batches/{shop['batch'].id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-testid="picking-list"' in page and "土鸡蛋" in page
    assert "139****5678" in page and "13912345678" not in page


def test_another_merchants_batch_is_not_found(client, login, shop, other_batch):
    login(shop["owner"])
    assert client.get(f"/merchant/batches/{other_batch.id}").status_code == 404
    assert client.get("/merchant/batches/999999").status_code == 404
    token = csrf_from(client.get("/merchant/batches").get_data(as_text=True))
    response = client.post(f"/merchant/batches/{other_batch.id}/dispatch", data={"csrf_token": token})
    assert response.status_code == 404
    assert _status(other_batch.id) == "created"


def test_start_picking_then_dispatch(client, login, shop):
    login(shop["owner"])
    batch_id = shop["batch"].id
    response = _post(client, batch_id, "start-picking")
    assert response.status_code == 303 and _status(batch_id) == "picking"
    response = _post(client, batch_id, "dispatch")
    assert response.status_code == 303 and _status(batch_id) == "dispatched"


def test_a_step_out_of_order_gets_a_clear_error_and_changes_nothing(client, login, shop):
    login(shop["owner"])
    batch_id = shop["batch"].id
    _post(client, batch_id, "dispatch")
    response = _post(client, batch_id, "start-picking")
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "ui-toast--error" in page and 'data-testid="picking-list"' in page
    assert _post(client, batch_id, "dispatch").status_code == 409
    assert _status(batch_id) == "dispatched"


def test_post_without_csrf_is_refused(client, login, shop):
    login(shop["owner"])
    response = client.post(f"/merchant/batches/{shop['batch'].id}/start-picking")
    assert response.status_code == 400
    assert _status(shop["batch"].id) == "created"


def test_only_merchants_see_batch_pages(client, login, shop, make_leader):
    assert client.get("/merchant/batches").status_code == 302  # anonymous → login
    leader = make_leader()
    login(leader.user)
    assert client.get("/merchant/batches").status_code == 403
    assert client.get(f"/merchant/batches/{shop['batch'].id}").status_code == 403
