from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Order, PickupCode, Redemption
from app.services.accounts import tokens
from tests.support.forms import csrf_from
from tests.support.pickup import Bags, confirm_fields, items_of


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


def look_up(client, code, point_id, token=None, headers=None):
    token = token or csrf_from(client.get("/pickup/").get_data(as_text=True))
    data = {"code": code, "point_id": point_id, "csrf_token": token}
    return client.post("/pickup/preview", data=data, headers=headers or {})


def bearer(user):
    _token, plain = tokens.create_token(user, "scanner")
    return {"Authorization": f"Bearer {plain}"}


def redeem_api(client, bag, auth, key, **extra):
    body = {"pickup_point_id": bag.point.id, "code_id": bag.code.id, "idempotency_key": key, "code": bag.code.code}
    body.update(extra)
    return client.post("/api/v1/pickup/redeem", json=body, headers=auth)


def test_preview_offers_per_line_quantities_and_the_partial_button_hands_over_only_those(client, login, bags):
    bag = bags.make(quantities=(3, 2))
    first, second = items_of(bag.order)
    login(bag.staff)
    html = look_up(client, bag.code.code, bag.point.id).get_data(as_text=True)
    assert f'name="qty-{first.id}"' in html and f'name="qty-{second.id}"' in html
    form = {
        "point_id": bag.point.id,
        "code_id": bag.code.id,
        **confirm_fields(html),
        f"qty-{first.id}": "1",
        f"qty-{second.id}": "0",
        "take": "some",
    }
    response = client.post("/pickup/redeem", data=form)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert 'data-testid="still-waiting"' in response.get_data(as_text=True)
    assert [item.redeemed_qty for item in items_of(bag.order)] == [1, 0]
    assert db.session.get(Order, bag.order.id, populate_existing=True).status == "ready_for_pickup"


def test_the_big_confirm_button_hands_over_everything_even_with_quantities_posted(client, login, bags):
    bag = bags.make(quantities=(3,))
    item = items_of(bag.order)[0]
    login(bag.staff)
    html = look_up(client, bag.code.code, bag.point.id).get_data(as_text=True)
    form = {
        "point_id": bag.point.id,
        "code_id": bag.code.id,
        **confirm_fields(html),
        f"qty-{item.id}": "1",
    }
    assert client.post("/pickup/redeem", data=form).status_code == 200
    assert db.session.get(Order, bag.order.id, populate_existing=True).status == "completed"


@pytest.mark.parametrize("value", ["-1", "abc", "99", "1.5", "9999999999"])
def test_bad_counter_quantities_are_422_and_change_nothing(client, login, bags, value):
    bag = bags.make(quantities=(3,))
    item = items_of(bag.order)[0]
    login(bag.staff)
    html = look_up(client, bag.code.code, bag.point.id).get_data(as_text=True)
    form = {
        "point_id": bag.point.id,
        "code_id": bag.code.id,
        **confirm_fields(html),
        f"qty-{item.id}": value,
        "take": "some",
    }
    assert client.post("/pickup/redeem", data=form).status_code == 422
    assert [i.redeemed_qty for i in items_of(bag.order)] == [0]


def test_api_partial_redeem_then_rest(client, bags):
    bag = bags.make(quantities=(3, 2))
    first, second = items_of(bag.order)
    auth = bearer(bag.staff)
    partial = redeem_api(client, bag, auth, "partial-key-1", lines={str(first.id): 2})
    assert partial.status_code == 200, partial.get_json()
    body = partial.get_json()
    assert body["complete"] is False and body["handed_over"] == [{"order_item_id": first.id, "quantity": 2}]
    rest = redeem_api(client, bag, auth, "partial-key-2")
    assert rest.status_code == 200 and rest.get_json()["complete"] is True
    again = redeem_api(client, bag, auth, "partial-key-3")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_redeemed"


@pytest.mark.parametrize(
    "lines",
    [{"ITEM": -1}, {"ITEM": 10**12}, {"ITEM": 4}, {"OTHER": 1}, {"x": 1}, {"ITEM": "many"}, [], "all", {}],
)
def test_api_bad_lines_are_422_and_change_nothing(client, bags, lines):
    bag = bags.make(quantities=(3,))
    other = bags.make(point=bag.point, staff=bag.staff)
    names = {"ITEM": str(items_of(bag.order)[0].id), "OTHER": str(items_of(other.order)[0].id)}
    if isinstance(lines, dict):
        lines = {names.get(k, k): v for k, v in lines.items()}
    response = redeem_api(client, bag, bearer(bag.staff), "bad-lines-key", lines=lines)
    assert response.status_code == 422, response.get_json()
    assert "fields" in response.get_json()["error"]
    assert [i.redeemed_qty for i in items_of(bag.order)] == [0]
    assert db.session.scalar(select(Redemption)) is None


def test_api_brute_force_locks_the_device_and_answers_alike(client, bags, frozen_clock):
    bag = bags.make()
    auth = {**bearer(bag.staff), "X-Device-Id": "scanner-device-0001"}
    wrong = "00000000" if bag.code.code != "00000000" else "00000001"
    payload = {"pickup_point_id": bag.point.id}
    statuses = [
        client.post("/api/v1/pickup/preview", json={**payload, "code": wrong}, headers=auth).status_code
        for _ in range(5)
    ]
    assert statuses == [404] * 5
    valid = client.post("/api/v1/pickup/preview", json={**payload, "code": bag.code.code}, headers=auth)
    invalid = client.post("/api/v1/pickup/preview", json={**payload, "code": wrong}, headers=auth)
    assert valid.status_code == invalid.status_code == 429
    assert valid.get_json() == invalid.get_json()
    assert valid.get_json()["error"]["code"] == "code_entry_locked" and valid.get_json()["error"]["retry_at"]
    frozen_clock.advance(minutes=11)
    ok = client.post("/api/v1/pickup/preview", json={**payload, "code": bag.code.code}, headers=auth)
    assert ok.status_code == 200


def test_counter_page_sets_a_device_cookie_once(client, login, bags):
    bag = bags.make()
    login(bag.staff)
    first = client.get("/pickup/")
    cookie = client.get_cookie("counter_device")
    assert cookie is not None and len(cookie.value) >= 16
    assert "counter_device" in first.headers.get("Set-Cookie", "")
    second = client.get("/pickup/")
    assert "counter_device" not in second.headers.get("Set-Cookie", "")


def test_counter_locks_with_a_clear_message(client, login, bags):
    bag = bags.make()
    login(bag.staff)
    token = csrf_from(client.get("/pickup/").get_data(as_text=True))
    wrong = "00000000" if bag.code.code != "00000000" else "00000001"
    assert [look_up(client, wrong, bag.point.id, token).status_code for _ in range(5)] == [404] * 5
    locked = look_up(client, bag.code.code, bag.point.id, token)
    assert locked.status_code == 429
    assert 'data-error-code="code_entry_locked"' in locked.get_data(as_text=True)


def test_api_undo_by_the_leader(client, bags):
    bag = bags.make()
    done = redeem_api(client, bag, bearer(bag.staff), "undo-me-key-1").get_json()
    url = f"/api/v1/pickup/redemptions/{done['redemption_id']}/undo"
    assert client.post(url, json={"reason": "wrong bag"}, headers=bearer(bag.staff)).status_code == 403
    leader_auth = bearer(db.session.get(type(bag.staff), bag.leader.user_id))
    assert client.post(url, json={"reason": ""}, headers=leader_auth).status_code == 422
    assert client.post(url, json={}, headers=leader_auth).status_code == 422
    response = client.post(url, json={"reason": "wrong bag"}, headers=leader_auth)
    assert response.status_code == 200 and response.get_json()["reopened"] is True
    assert db.session.get(PickupCode, bag.code.id, populate_existing=True).status == "issued"
    assert client.post(url, json={"reason": "again"}, headers=leader_auth).status_code == 409
    assert (
        client.post("/api/v1/pickup/redemptions/999999/undo", json={"reason": "x"}, headers=leader_auth).status_code
        == 404
    )


def test_openapi_documents_lines_and_undo(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/pickup/redemptions/{redemption_id}/undo" in spec["paths"]
    assert "lines" in str(spec["paths"]["/api/v1/pickup/redeem"]) or "lines" in str(spec.get("components", {}))


# ---- the leader's pickup overview


def leader_of(bag):
    return db.session.get(type(bag.staff), bag.leader.user_id)


def test_leader_overview_shows_waiting_bags_and_reminds_overdue(client, login, bags, frozen_clock):
    bag = bags.make(name="赵六")
    order = db.session.get(Order, bag.order.id)
    order.shelf_slot = order.live_slot = 9
    order.arrived_at = frozen_clock.now - timedelta(days=3)
    db.session.commit()
    login(leader_of(bag))
    index = client.get("/leader/pickup")
    assert index.status_code == 302
    page = client.get(index.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and bag.order.number in html and "赵*" in html and "赵六" not in html
    response = client.post(
        f"/leader/pickup/{bag.point.id}/remind", data={"order_id": "overdue", "csrf_token": csrf_from(html)}
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-testid="reminder-text"' in text
    assert bag.order.number[-4:] in text
    assert db.session.get(Order, bag.order.id, populate_existing=True).reminded_at is not None
    bad = client.post(f"/leader/pickup/{bag.point.id}/remind", data={"order_id": "x", "csrf_token": csrf_from(html)})
    assert bad.status_code == 422


def test_leader_undoes_from_the_overview_and_staff_cannot_open_it(client, login, bags):
    bag = bags.make()
    redeem_api(client, bag, bearer(bag.staff), "overview-undo-1")
    login(bag.staff)
    assert client.get(f"/leader/pickup/{bag.point.id}").status_code == 403
    other = client.application.test_client()
    login(leader_of(bag), c=other)
    html = other.get(f"/leader/pickup/{bag.point.id}").get_data(as_text=True)
    row = db.session.scalar(select(Redemption))
    assert f'data-testid="undo-{row.id}"' in html
    url = f"/leader/pickup/{bag.point.id}/redemptions/{row.id}/undo"
    empty = other.post(url, data={"reason": " ", "csrf_token": csrf_from(html)})
    assert empty.status_code == 422
    assert db.session.get(PickupCode, bag.code.id, populate_existing=True).status == "redeemed"
    done = other.post(url, data={"reason": "给错了人", "csrf_token": csrf_from(html)})
    assert done.status_code == 302
    assert db.session.get(PickupCode, bag.code.id, populate_existing=True).status == "issued"
    again = other.post(url, data={"reason": "again", "csrf_token": csrf_from(html)})
    assert again.status_code == 409


def test_another_leaders_point_is_404(client, login, bags):
    bag = bags.make()
    other = bags.make()
    login(leader_of(bag))
    assert client.get(f"/leader/pickup/{other.point.id}").status_code == 404
    html = client.get(f"/leader/pickup/{bag.point.id}").get_data(as_text=True)
    token = csrf_from(html)
    assert (
        client.post(
            f"/leader/pickup/{other.point.id}/remind", data={"order_id": "overdue", "csrf_token": token}
        ).status_code
        == 404
    )
