import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Order, Product
from app.services.orders import ordering
from tests.support.forms import csrf_from
from tests.support.shop import ShopBuilder


@pytest.fixture
def shop(make_product, make_window, make_leader, make_point, make_share_link):
    return ShopBuilder(make_product, make_window, make_leader, make_point, make_share_link)


def _orders() -> int:
    return db.session.scalar(select(func.count()).select_from(Order))


def _form(s, qty=2, **extra) -> dict:
    data = {
        f"qty-{s.item.id}": str(qty),
        "pickup_point_id": str(s.point.id),
        "customer_name": "李四",
        "customer_phone": "138 0013 8000",
        "payment_provider": "simulator",
    }
    data.update(extra)
    return data


def _post(client, s, data):
    token = csrf_from(client.get(f"/s/{s.slug}").get_data(as_text=True))
    return client.post(f"/s/{s.slug}", data={**data, "csrf_token": token})


def test_shop_page_shows_items_points_and_countdown(client, shop):
    s = shop(stock=7, limit=3, price_fen=1250)
    html = client.get(f"/s/{s.slug}").get_data(as_text=True)
    assert s.window.title in html and s.merchant.name in html and s.leader.community_name in html
    assert "¥12.50" in html and s.product.name in html
    assert f'name="qty-{s.item.id}"' in html
    assert 'max="3"' in html
    assert f'value="{s.point.id}"' in html and s.point.address in html and s.point.opening_hours in html
    assert "data-closes-at=" in html
    assert 'value="simulator"' in html and 'value="offline"' in html


def test_sold_out_item_is_marked_and_cannot_be_ordered(client, shop):
    s = shop(stock=0)
    html = client.get(f"/s/{s.slug}").get_data(as_text=True)
    assert 'data-testid="sold-out"' in html
    assert f'name="qty-{s.item.id}"' not in html  # no quantity box to fill in


@pytest.mark.parametrize("status", ["closed", "scheduled"])
def test_closed_or_unopened_window_page_has_no_form(client, shop, status):
    s = shop(status=status)
    response = client.get(f"/s/{s.slug}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-testid="window-state"' in html
    assert "qty-" not in html


def test_unknown_slug_is_a_404_page(client, shop):
    shop()
    response = client.get("/s/does-not-exist")
    assert response.status_code == 404
    assert "<html" in response.get_data(as_text=True)


def test_placing_an_online_order_redirects_to_the_payment_page(client, shop):
    s = shop(stock=10)
    response = _post(client, s, _form(s, 2))
    assert response.status_code == 303
    order = db.session.scalar(select(Order))
    assert response.headers["Location"] == f"/payments/simulator/{order.access_token}"
    assert (order.customer_phone, order.total_fen) == ("13800138000", 2500)
    assert db.session.get(Product, s.product.id).stock == 8


def test_placing_an_offline_order_redirects_to_the_order_page(client, shop):
    s = shop(stock=10)
    response = _post(client, s, _form(s, 1, payment_provider="offline"))
    order = db.session.scalar(select(Order))
    assert response.headers["Location"] == f"/o/{order.access_token}"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="offline-hint"' in html


@pytest.mark.parametrize(
    ("data", "message_field"),
    [
        ({"customer_phone": "12345"}, "customer_phone"),
        ({"customer_name": ""}, "customer_name"),
        ({"customer_name": "名" * 41}, "customer_name"),
        ({"qty": "abc"}, "qty"),
        ({"qty": "-1"}, "qty"),
        ({"qty": "1000000000"}, "qty"),
        ({"qty": "0"}, "qty"),
        ({"pickup_point_id": "x"}, "pickup_point_id"),
        ({"payment_provider": "bitcoin"}, "payment_provider"),
    ],
)
def test_invalid_form_is_shown_again_with_inputs_kept(client, shop, data, message_field):
    s = shop(stock=10)
    data = dict(data)
    qty = data.pop("qty", "2")
    response = _post(client, s, _form(s, qty, **data))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'role="alert"' in html
    if message_field != "customer_name":
        assert 'value="李四"' in html
    assert f'value="{qty}"' in html
    assert _orders() == 0
    assert db.session.get(Product, s.product.id).stock == 10


def test_out_of_stock_is_a_409_with_the_form_kept(client, shop):
    s = shop(stock=1)
    response = _post(client, s, _form(s, 2))
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert 'data-testid="order-error"' in html and 'value="李四"' in html
    assert _orders() == 0


def test_order_form_without_csrf_token_is_refused(client, shop):
    s = shop(stock=10)
    response = client.post(f"/s/{s.slug}", data=_form(s, 1))
    assert response.status_code == 400
    assert _orders() == 0


def test_posting_to_a_closed_window_is_refused(client, shop):
    s = shop(stock=10)
    token = csrf_from(client.get(f"/s/{s.slug}").get_data(as_text=True))
    s.window.status = "closed"
    db.session.commit()
    response = client.post(f"/s/{s.slug}", data={**_form(s, 1), "csrf_token": token})
    assert response.status_code == 409
    assert _orders() == 0


def test_order_page_shows_the_order_privately(client, shop):
    s = shop(stock=10, price_fen=1250)
    order = ordering.place_order(s.slug, **s.order_args(2))
    response = client.get(f"/o/{order.access_token}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert order.number in html and 'data-testid="order-status"' in html
    assert "¥25.00" in html and s.product.name in html
    assert s.point.name in html and s.point.address in html and s.point.opening_hours in html
    assert 'data-testid="pay"' in html and 'data-testid="cancel-order"' in html
    assert '<meta name="robots" content="noindex' in html
    assert "138****8000" in html and "13800138000" not in html
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert 'data-testid="pickup-code"' not in html


def test_confirmed_order_shows_code_and_qr(client, shop, make_order):
    s = shop(stock=10)
    order = make_order(s.window, s.point, [(s.item, 1)], status="confirmed")
    from app.models import PickupCode

    code = db.session.scalar(select(PickupCode.code))
    html = client.get(f"/o/{order.access_token}").get_data(as_text=True)
    assert f"{code[:4]} {code[4:]}" in html
    assert f"/o/{order.access_token}/qr.png" in html
    assert 'data-testid="cancel-order"' not in html
    png = client.get(f"/o/{order.access_token}/qr.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.data.startswith(b"\x89PNG")
    assert png.headers["Cache-Control"] == "no-store"


def test_qr_of_an_unconfirmed_order_is_404(client, shop):
    s = shop(stock=10)
    order = ordering.place_order(s.slug, **s.order_args(1))
    assert client.get(f"/o/{order.access_token}/qr.png").status_code == 404


def test_unknown_order_token_is_404(client):
    assert client.get("/o/nope").status_code == 404
    assert client.get("/o/nope/qr.png").status_code == 404


def test_customer_cancels_from_the_order_page(client, shop):
    s = shop(stock=10)
    order = ordering.place_order(s.slug, **s.order_args(3))
    page = client.get(f"/o/{order.access_token}").get_data(as_text=True)
    response = client.post(f"/o/{order.access_token}/cancel", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "cancelled"
    assert db.session.get(Product, s.product.id).stock == 10
    html = client.get(f"/o/{order.access_token}").get_data(as_text=True)
    assert 'data-testid="cancel-order"' not in html


def test_cancel_of_a_confirmed_order_is_refused(client, shop, make_order):
    s = shop(stock=10)
    order = make_order(s.window, s.point, [(s.item, 1)], status="confirmed")
    token = csrf_from(client.get(f"/s/{s.slug}").get_data(as_text=True))
    response = client.post(f"/o/{order.access_token}/cancel", data={"csrf_token": token})
    assert response.status_code == 409
    assert db.session.get(Order, order.id).status == "confirmed"


def test_hostile_input_is_escaped(client, shop, make_product):
    s = shop(stock=10)
    s.product.name = "<img src=x onerror=alert(1)>"
    db.session.commit()
    assert "<img src=x" not in client.get(f"/s/{s.slug}").get_data(as_text=True)
    order = ordering.place_order(s.slug, **s.order_args(1, customer_name="<script>alert(1)</script>"))
    html = client.get(f"/o/{order.access_token}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_order_placement_is_rate_limited_per_address(app, client, shop):
    app.config["ORDER_RATE_LIMIT"] = "3 per minute"
    s = shop(stock=10)
    statuses = [_post(client, s, _form(s, 1, customer_phone=f"1380013800{n}")).status_code for n in range(4)]
    assert statuses == [303, 303, 303, 429]
    assert _orders() == 3


# ---- JSON API


def _api_body(s, qty=1, **extra) -> dict:
    body = {
        "items": [{"window_item_id": s.item.id, "quantity": qty}],
        "pickup_point_id": s.point.id,
        "customer_name": "王五",
        "customer_phone": "13800138000",
        "payment_provider": "simulator",
    }
    body.update(extra)
    return body


def test_api_places_an_order_without_any_session_or_csrf(app, shop):
    s = shop(stock=10, price_fen=1250)
    fresh = app.test_client(use_cookies=False)
    response = fresh.post(f"/api/v1/shop/{s.slug}/orders", json=_api_body(s, 2))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending_payment" and body["total_fen"] == 2500
    assert body["pay_url"] == f"/payments/simulator/{body['access_token']}"
    assert body["order_url"] == f"/o/{body['access_token']}"
    assert "Set-Cookie" not in response.headers


def test_api_offline_order_has_no_pay_url(client, shop):
    s = shop(stock=10)
    body = client.post(f"/api/v1/shop/{s.slug}/orders", json=_api_body(s, payment_provider="offline")).get_json()
    assert body["pay_url"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"customer_phone": "12345"}, "customer_phone"),
        ({"items": [{"window_item_id": 1, "quantity": "abc"}]}, "items.0.quantity"),
        ({"items": [{"window_item_id": 1, "quantity": -1}]}, "items.0.quantity"),
        ({"items": [{"window_item_id": 1, "quantity": 10**9}]}, "items.0.quantity"),
        ({"items": []}, "items"),
        ({"pickup_point_id": "1"}, "pickup_point_id"),
        ({"payment_provider": "bitcoin"}, "payment_provider"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_api_validation_errors_name_the_field_and_change_nothing(client, shop, change, field):
    s = shop(stock=10)
    response = client.post(f"/api/v1/shop/{s.slug}/orders", json=_api_body(s, **change))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed" and field in error["fields"]
    assert _orders() == 0


def test_api_item_of_another_window_is_reported_on_items(client, shop):
    s, other = shop(stock=10), shop(stock=10)
    body = _api_body(s)
    body["items"].append({"window_item_id": other.item.id, "quantity": 1})
    response = client.post(f"/api/v1/shop/{s.slug}/orders", json=body)
    assert response.status_code == 422 and "items" in response.get_json()["error"]["fields"]
    assert _orders() == 0


def test_api_out_of_stock_is_a_clean_409(client, shop):
    s = shop(stock=1)
    response = client.post(f"/api/v1/shop/{s.slug}/orders", json=_api_body(s, 2))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "out_of_stock"


def test_api_unknown_slug_and_bad_json(client, shop):
    s = shop()
    assert client.post("/api/v1/shop/nope/orders", json=_api_body(s)).status_code == 404
    response = client.post(f"/api/v1/shop/{s.slug}/orders", data="{not json", content_type="application/json")
    assert response.status_code == 400


def test_api_order_lookup_and_cancel_by_token(client, shop, make_order):
    s = shop(stock=10)
    token = client.post(f"/api/v1/shop/{s.slug}/orders", json=_api_body(s, 3)).get_json()["access_token"]
    response = client.get(f"/api/v1/orders/{token}")
    body = response.get_json()
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert body["status"] == "pending_payment" and body["can_cancel"] is True
    assert body["customer_phone"] == "138****8000"
    assert body["items"][0]["quantity"] == 3 and body["pickup_point"]["id"] == s.point.id
    assert body["code"] is None and body["qr_text"] is None
    cancelled = client.post(f"/api/v1/orders/{token}/cancel").get_json()
    assert cancelled["status"] == "cancelled" and cancelled["can_cancel"] is False
    assert client.get("/api/v1/orders/nope").status_code == 404


def test_api_confirmed_order_carries_code_and_signed_qr_text(client, shop, make_order):
    from app.services.pickup import codes

    s = shop(stock=10)
    order = make_order(s.window, s.point, [(s.item, 1)], status="confirmed")
    body = client.get(f"/api/v1/orders/{order.access_token}").get_json()
    assert re.fullmatch(r"\d{4} \d{4}", body["code"])
    assert codes.verify_qr(body["qr_text"])["order_id"] == order.id
    assert client.post(f"/api/v1/orders/{order.access_token}/cancel").status_code == 409


def test_api_documents_the_shop_endpoints_as_public(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/shop/{slug}/orders"]["post"]
    assert operation["security"] == []
    assert "/api/v1/orders/{token}" in spec["paths"]
