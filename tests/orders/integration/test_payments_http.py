import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Order, Payment
from app.services.orders import ordering
from app.services.orders.payment_providers import sign_simulator_body
from tests.support.forms import csrf_from
from tests.support.shop import ShopBuilder

WEBHOOK = "/payments/simulator/webhook"


@pytest.fixture
def shop(make_product, make_window, make_leader, make_point, make_share_link):
    return ShopBuilder(make_product, make_window, make_leader, make_point, make_share_link)


@pytest.fixture
def order(app, shop):
    s = shop(stock=10, price_fen=1250)
    return ordering.place_order(s.slug, **s.order_args(2))


def _body(order, amount=None, ref="sim_http1") -> bytes:
    return json.dumps(
        {
            "order_number": order.number,
            "amount_fen": order.total_fen if amount is None else amount,
            "provider_ref": ref,
            "paid_at": "2026-11-22T02:00:00Z",
        }
    ).encode()


def _hook(client, raw: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Simulator-Signature"] = signature
    return client.post(WEBHOOK, data=raw, headers=headers)


def _status(order) -> str:
    db.session.expire_all()
    return db.session.get(Order, order.id).status


def test_simulator_page_shows_amount_and_pay_button(client, order):
    response = client.get(f"/payments/simulator/{order.access_token}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "¥25.00" in html and order.number in html and 'data-testid="simulator-pay"' in html
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_pressing_pay_pays_the_order_and_returns_to_it(client, order):
    page = client.get(f"/payments/simulator/{order.access_token}").get_data(as_text=True)
    response = client.post(f"/payments/simulator/{order.access_token}/pay", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/o/{order.access_token}"
    assert _status(order) == "paid"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="pay"' not in html and "status-paid" in html


def test_pressing_pay_twice_records_one_payment(client, order):
    page = client.get(f"/payments/simulator/{order.access_token}").get_data(as_text=True)
    for _ in range(2):
        client.post(f"/payments/simulator/{order.access_token}/pay", data={"csrf_token": csrf_from(page)})
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1


def test_simulator_page_of_unknown_order_is_404(client):
    assert client.get("/payments/simulator/unknown").status_code == 404


def test_webhook_with_good_signature_pays_and_a_replay_answers_the_same(client, order):
    raw = _body(order)
    first = _hook(client, raw, sign_simulator_body(raw))
    second = _hook(client, raw, sign_simulator_body(raw))
    assert first.status_code == second.status_code == 200
    assert first.get_json() == second.get_json()
    assert first.get_json()["ok"] is True
    assert _status(order) == "paid"
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1


@pytest.mark.parametrize("signature", [None, "", "sha256=deadbeef", "sha256=" + "a" * 64])
def test_webhook_with_bad_or_missing_signature_is_400(client, order, signature):
    response = _hook(client, _body(order), signature)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_signature"
    assert _status(order) == "pending_payment"


def test_webhook_with_wrong_amount_is_400_and_changes_nothing(client, order):
    raw = _body(order, amount=1)
    response = _hook(client, raw, sign_simulator_body(raw))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "amount_mismatch"
    assert _status(order) == "pending_payment"


def test_webhook_with_signed_garbage_is_a_clear_error(client, order):
    raw = b"\xff\xfe not json"
    response = _hook(client, raw, sign_simulator_body(raw))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"


def test_webhook_after_cancel_is_accepted_and_refunded(client, order):
    ordering.cancel_order(order.access_token)
    raw = _body(order, ref="sim_late")
    response = _hook(client, raw, sign_simulator_body(raw))
    assert response.status_code == 200 and response.get_json()["late"] is True
    db.session.expire_all()
    cancelled = db.session.get(Order, order.id)
    assert cancelled.status == "cancelled" and cancelled.refunded_fen == cancelled.paid_fen == 2500
