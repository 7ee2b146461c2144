import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditRecord, Order, PickupCode
from app.services.accounts import tokens
from app.services.pickup import codes
from tests.support.forms import csrf_from
from tests.support.pickup import Bags, confirm_fields


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


def look_up(client, code, point_id, token=None):
    token = token or csrf_from(client.get("/pickup/").get_data(as_text=True))
    return client.post("/pickup/preview", data={"code": code, "point_id": point_id, "csrf_token": token})


def test_counter_page_has_a_focused_numeric_code_input(client, login, bags):
    bag = bags.make()
    html = login(bag.staff).get("/pickup/").get_data(as_text=True)
    assert 'inputmode="numeric"' in html and "autofocus" in html
    assert "js/counter.js" in html
    assert bag.point.name in html


def test_type_code_preview_then_confirm(client, login, bags):
    bag = bags.make(name="李小龙", phone="13712345678", quantities=(2, 1), shortages=(0, 1))
    login(bag.staff)
    preview = look_up(client, codes.format_code(bag.code.code), bag.point.id)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert bag.order.number in html and "李**" in html and "137****5678" in html
    assert "李小龙" not in html and "13712345678" not in html
    assert "shortage" in html and "<s>" in html
    confirm = confirm_fields(html)
    response = client.post("/pickup/redeem", data={"point_id": bag.point.id, "code_id": bag.code.id, **confirm})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-testid="result-ok"' in page and "result-ok" in page
    assert db.session.get(Order, bag.order.id, populate_existing=True).status == "completed"
    # The same confirm posted again (double tap) shows the same success, not a refusal.
    again = client.post("/pickup/redeem", data={"point_id": bag.point.id, "code_id": bag.code.id, **confirm})
    assert again.status_code == 200 and 'data-testid="result-ok"' in again.get_data(as_text=True)


def test_confirm_without_csrf_token_is_refused(client, login, bags):
    bag = bags.make()
    login(bag.staff)
    response = client.post(
        "/pickup/redeem",
        data={
            "point_id": bag.point.id,
            "code_id": bag.code.id,
            "idempotency_key": "a" * 32,
        },
    )
    assert response.status_code == 400
    assert db.session.get(PickupCode, bag.code.id, populate_existing=True).status == "issued"


def hand_over(client, bag):
    html = look_up(client, bag.code.code, bag.point.id).get_data(as_text=True)
    return client.post(
        "/pickup/redeem",
        data={
            "point_id": bag.point.id,
            "code_id": bag.code.id,
            **confirm_fields(html),
        },
    )


def test_second_hand_over_shows_when_and_who_in_red(client, login, bags):
    bag = bags.make()
    login(bag.staff)
    assert hand_over(client, bag).status_code == 200
    response = look_up(client, bag.code.code, bag.point.id)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "result-bad" in html and bag.staff.name in html


def test_stale_preview_confirmed_after_someone_else_redeemed_is_refused(client, login, bags):
    bag = bags.make()
    login(bag.staff)
    html = look_up(client, bag.code.code, bag.point.id).get_data(as_text=True)
    assert hand_over(client, bag).status_code == 200
    response = client.post(
        "/pickup/redeem",
        data={
            "point_id": bag.point.id,
            "code_id": bag.code.id,
            **confirm_fields(html),
        },
    )
    assert response.status_code == 409
    assert 'data-error-code="already_redeemed"' in response.get_data(as_text=True)


def test_not_arrived_preview_has_no_confirm_button(client, login, bags):
    bag = bags.make(status="confirmed")
    login(bag.staff)
    html = look_up(client, bag.code.code, bag.point.id).get_data(as_text=True)
    assert 'data-testid="confirm"' not in html and "result-bad" in html


def test_unknown_code_answers_404_and_keeps_the_counter_ready(client, login, bags):
    bag = bags.make()
    login(bag.staff)
    wrong = "00000000" if bag.code.code != "00000000" else "00000001"
    response = look_up(client, wrong, bag.point.id)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "result-bad" in html and "data-counter-input" in html


def test_forged_qr_says_invalid_signature(client, login, bags):
    bag = bags.make()
    login(bag.staff)
    forged = codes.qr_text(bag.code)[:-4] + "AAAA"
    response = look_up(client, forged, bag.point.id)
    assert response.status_code == 400
    assert "signature" in response.get_data(as_text=True).lower() or "签名" in response.get_data(as_text=True)


def test_point_choice_is_remembered(client, login, bags, make_point):
    bag = bags.make()
    second = make_point(bag.leader, staff=[bag.staff], name="第二自提点")
    login(bag.staff)
    html = client.get("/pickup/").get_data(as_text=True)
    assert 'data-testid="point-select"' in html
    look_up(client, "12345678", second.id)
    html = client.get("/pickup/").get_data(as_text=True)
    assert re.search(rf'<option selected value="{second.id}">|<option value="{second.id}" selected', html)


def test_foreign_point_id_is_404_and_audited(client, login, bags, make_point):
    bag = bags.make()
    other = make_point()
    login(bag.staff)
    assert look_up(client, bag.code.code, other.id).status_code == 404
    record = db.session.scalar(select(AuditRecord).where(AuditRecord.action == "code_lookup"))
    assert record.detail["outcome"] == "not_your_pickup_point"


def test_failed_code_entries_are_rate_limited_with_a_message(app, client, login, bags):
    app.config["CODE_ENTRY_RATE_LIMIT"] = "3 per 5 minutes"
    bag = bags.make()
    login(bag.staff)
    token = csrf_from(client.get("/pickup/").get_data(as_text=True))
    wrong = "00000000" if bag.code.code != "00000000" else "00000001"
    statuses = [look_up(client, wrong, bag.point.id, token).status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]
    blocked = look_up(client, bag.code.code, bag.point.id, token)
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True) or "尝试" in blocked.get_data(as_text=True)


def test_successful_lookups_do_not_use_up_the_limit(app, client, login, bags):
    app.config["CODE_ENTRY_RATE_LIMIT"] = "2 per 5 minutes"
    bag = bags.make()
    login(bag.staff)
    token = csrf_from(client.get("/pickup/").get_data(as_text=True))
    assert [look_up(client, bag.code.code, bag.point.id, token).status_code for _ in range(5)] == [200] * 5


def test_people_without_a_point_cannot_use_the_counter(client, login, make_user, make_leader):
    assert client.get("/pickup/").status_code == 302
    login(make_user("路人"))
    assert client.get("/pickup/").status_code == 403


# ---- API


def test_api_preview_and_redeem_with_bearer_token(client, bags):
    bag = bags.make()
    _token, plain = tokens.create_token(bag.staff, "scanner")
    auth = {"Authorization": f"Bearer {plain}"}
    preview = client.post(
        "/api/v1/pickup/preview", json={"pickup_point_id": bag.point.id, "code": bag.code.code}, headers=auth
    )
    assert preview.status_code == 200, preview.get_json()
    body = preview.get_json()
    assert body["customer_phone"].count("*") == 4 and body["redeemable"] is True
    request = {
        "pickup_point_id": bag.point.id,
        "code_id": body["code_id"],
        "idempotency_key": body["idempotency_key"],
        "redeem_token": body["redeem_token"],
        "device": "scanner-7",
    }
    first = client.post("/api/v1/pickup/redeem", json=request, headers=auth)
    assert first.status_code == 200 and first.get_json()["outcome"] == "redeemed"
    replay = client.post("/api/v1/pickup/redeem", json=request, headers=auth)
    assert replay.get_json() == first.get_json()
    fresh_request = {**request, "idempotency_key": "another-key-1", "redeem_token": None, "code": bag.code.code}
    fresh = client.post("/api/v1/pickup/redeem", json=fresh_request, headers=auth)
    assert fresh.status_code == 409
    error = fresh.get_json()["error"]
    assert error["code"] == "already_redeemed" and error["redeemed_by"] == bag.staff.name


def test_api_session_write_needs_the_csrf_header(client, login, bags):
    bag = bags.make()
    login(bag.staff)
    payload = {"pickup_point_id": bag.point.id, "code": bag.code.code}
    assert client.post("/api/v1/pickup/preview", json=payload).status_code == 400
    token = csrf_from(client.get("/pickup/").get_data(as_text=True))
    response = client.post("/api/v1/pickup/preview", json=payload, headers={"X-CSRFToken": token})
    assert response.status_code == 200


def test_api_bad_bodies_get_422_with_fields(client, bags):
    bag = bags.make()
    _token, plain = tokens.create_token(bag.staff, "scanner")
    auth = {"Authorization": f"Bearer {plain}"}
    response = client.post("/api/v1/pickup/redeem", json={"pickup_point_id": "x", "code_id": -1}, headers=auth)
    assert response.status_code == 422
    assert {"pickup_point_id", "code_id", "idempotency_key"} <= set(response.get_json()["error"]["fields"])
    assert (
        client.post(
            "/api/v1/pickup/preview", data="{", headers={**auth, "Content-Type": "application/json"}
        ).status_code
        == 400
    )


def test_api_public_keys_verify_labels(client, bags, make_user):
    bag = bags.make()
    _token, plain = tokens.create_token(bag.staff, "scanner")
    body = client.get("/api/v1/pickup/keys", headers={"Authorization": f"Bearer {plain}"}).get_json()
    kid = codes.qr_text(bag.code).split(".")[1]
    assert body["algorithm"] == "Ed25519" and kid in body["keys"]
    _token, outsider = tokens.create_token(make_user("路人"), "x")
    assert client.get("/api/v1/pickup/keys", headers={"Authorization": f"Bearer {outsider}"}).status_code == 403


def test_counter_and_leader_scripts_are_served(client):
    for name in ("counter.js", "leader.js"):
        response = client.get(f"/static/js/{name}")
        assert response.status_code == 200 and b"use strict" in response.data
        response.close()


def test_pickup_and_leader_operations_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/pickup/preview",
        "/api/v1/pickup/redeem",
        "/api/v1/pickup/keys",
        "/api/v1/leader/orders",
        "/api/v1/leader/batches/{batch_id}/arrival",
    ):
        assert path in paths, path
