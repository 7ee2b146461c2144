"""Merchant API over HTTP: products, stock and listing with a token or a session; bad input is
refused and changes nothing; CSRF, tenancy and roles on every merchant endpoint; the OpenAPI document.
Windows are in test_api_merchant_windows.py."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Product
from tests.support.forms import csrf_from
from tests.support.merchant_api import (
    API,
    BAD_JSON,
    HUGE,
    LONG,
    NOT_JSON_OBJECT,
    bearer,
    draft_window,
    refusals,
    snapshot,
    window_body,
)


@pytest.fixture
def owner(make_user, make_merchant, frozen_clock):
    user = make_user("老板")
    return user, make_merchant(owner=user)


@pytest.fixture
def auth(owner):
    return bearer(owner[0])


@pytest.fixture
def apple(owner, make_product):
    return make_product(owner[1], name="苹果", price_fen=1200, stock=10)


def _product(product_id) -> Product:
    db.session.expire_all()
    return db.session.get(Product, product_id)


# ---- products


def test_products_round_trip_with_a_bearer_token(client, auth, owner, make_product):
    make_product(owner[1], name="旧梨", listed=False)
    created = client.post(
        f"{API}/products",
        json={"name": " 苹果 ", "spec": "500g", "category": "水果", "price_fen": 1250, "stock": 30},
        headers=auth,
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["name"] == "苹果" and body["price_fen"] == 1250 and body["stock"] == 30 and body["listed"] is True
    product_id = body["id"]
    assert _product(product_id).merchant_id == owner[1].id

    listed = client.get(f"{API}/products?listed=true&q=苹", headers=auth).get_json()
    assert [p["id"] for p in listed["items"]] == [product_id]
    assert (listed["page"], listed["pages"], listed["total"]) == (1, 1, 1)
    assert client.get(f"{API}/products?listed=false", headers=auth).get_json()["total"] == 1
    assert client.get(f"{API}/products?cachebust=1", headers=auth).get_json()["total"] == 2

    assert client.get(f"{API}/products/{product_id}", headers=auth).get_json() == body

    patched = client.patch(f"{API}/products/{product_id}", json={"price_fen": 990}, headers=auth)
    assert patched.status_code == 200
    assert patched.get_json()["price_fen"] == 990
    assert (_product(product_id).name, _product(product_id).price_fen, _product(product_id).stock) == ("苹果", 990, 30)

    stocked = client.post(f"{API}/products/{product_id}/stock", json={"add": 5}, headers=auth)
    assert stocked.status_code == 200 and stocked.get_json() == {"stock": 35}

    unlisted = client.post(f"{API}/products/{product_id}/listing", json={"listed": False}, headers=auth)
    assert unlisted.status_code == 200 and unlisted.get_json()["listed"] is False
    assert _product(product_id).listed is False


def test_stock_patch_honours_stock_seen_and_is_absolute_without_it(client, auth, apple):
    url = f"{API}/products/{apple.id}"
    assert client.patch(url, json={"stock": 20, "stock_seen": 10}, headers=auth).get_json()["stock"] == 20
    before = snapshot()
    stale = client.patch(url, json={"stock": 30, "stock_seen": 10, "name": "新苹果"}, headers=auth)
    assert stale.status_code == 422
    assert "20" in stale.get_json()["error"]["fields"]["stock"]
    assert snapshot() == before
    assert client.patch(url, json={"stock": 5}, headers=auth).get_json()["stock"] == 5
    assert client.patch(url, json={"name": "红富士"}, headers=auth).get_json()["stock"] == 5
    assert client.patch(url, json={}, headers=auth).get_json()["name"] == "红富士"


def test_session_writes_need_the_csrf_header(client, login, owner):
    login(owner[0])
    before = snapshot()
    refused = client.post(f"{API}/products", json={"name": "苹果", "price_fen": 100})
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "csrf_failed"
    assert snapshot() == before
    assert client.get(f"{API}/products").get_json()["total"] == 0

    token = csrf_from(client.get("/merchant/products").get_data(as_text=True))
    created = client.post(f"{API}/products", json={"name": "苹果", "price_fen": 100}, headers={"X-CSRFToken": token})
    assert created.status_code == 201
    product_id = created.get_json()["id"]
    patched = client.patch(f"{API}/products/{product_id}", json={"spec": "1kg"}, headers={"X-CSRFToken": token})
    assert patched.get_json()["spec"] == "1kg"
    window = client.post(f"{API}/windows", json=window_body(_product(product_id)), headers={"X-CSRFToken": token})
    assert window.status_code == 201


def test_product_create_refuses_bad_input(client, auth):
    ok = {"name": "苹果", "price_fen": 1200}
    cases = [
        ({}, {"name", "price_fen"}),
        ({**ok, "price_fen": "12.5"}, {"price_fen"}),
        ({**ok, "price_fen": 12.5}, {"price_fen"}),
        ({**ok, "price_fen": "1250"}, {"price_fen"}),
        ({**ok, "price_fen": -1}, {"price_fen"}),
        ({**ok, "price_fen": HUGE}, {"price_fen"}),
        ({**ok, "price_fen": None}, {"price_fen"}),
        ({**ok, "stock": HUGE}, {"stock"}),
        ({**ok, "stock": -5}, {"stock"}),
        ({**ok, "stock": "5"}, {"stock"}),
        ({**ok, "low_stock_threshold": "x"}, {"low_stock_threshold"}),
        ({**ok, "name": LONG}, {"name"}),
        ({**ok, "name": "   "}, {"name"}),
        ({**ok, "name": 123}, {"name"}),
        ({**ok, "name": "苹\x00果"}, {"name"}),
        ({**ok, "spec": "x" * 61, "category": "x" * 41}, {"spec", "category"}),
        ({**ok, "listed": "yes"}, {"listed"}),
        ({**ok, "listed": 1}, {"listed"}),
        ({**ok, "merchant_id": 5}, {"merchant_id"}),
        NOT_JSON_OBJECT,
        BAD_JSON,
    ]
    assert refusals(client, "POST", f"{API}/products", cases, auth) == []


def test_product_patch_stock_and_listing_refuse_bad_input(client, auth, apple, make_product, owner):
    patch = [
        ({"price_fen": "12.5"}, {"price_fen"}),
        ({"price_fen": HUGE}, {"price_fen"}),
        ({"stock": -1}, {"stock"}),
        ({"stock": 1.0}, {"stock"}),
        ({"name": None}, {"name"}),
        ({"name": LONG, "spec": 5}, {"name", "spec"}),
        ({"category": "\u202e"}, {"category"}),
        ({"stock_seen": 10}, {"stock_seen"}),
        ({"stock": 20, "stock_seen": 9}, {"stock"}),
        ({"listed": "false"}, {"listed"}),
        ({"id": 9}, {"id"}),
        NOT_JSON_OBJECT,
        BAD_JSON,
    ]
    assert refusals(client, "PATCH", f"{API}/products/{apple.id}", patch, auth) == []

    full = make_product(owner[1], stock=999_999)
    stock = [
        ({}, {"add"}),
        ({"add": 0}, {"add"}),
        ({"add": -3}, {"add"}),
        ({"add": "5"}, {"add"}),
        ({"add": 1.5}, {"add"}),
        ({"add": HUGE}, {"add"}),
        ({"add": 5, "note": "到货"}, {"note"}),
        BAD_JSON,
    ]
    assert refusals(client, "POST", f"{API}/products/{apple.id}/stock", stock, auth) == []
    assert refusals(client, "POST", f"{API}/products/{full.id}/stock", [({"add": 5}, {"add"})], auth) == []

    listing = [({}, {"listed"}), ({"listed": "true"}, {"listed"}), ({"listed": None}, {"listed"}), BAD_JSON]
    assert refusals(client, "POST", f"{API}/products/{apple.id}/listing", listing, auth) == []


def test_list_queries_refuse_bad_parameters(client, auth, apple):
    for url, field in [
        (f"{API}/products?page=abc", "page"),
        (f"{API}/products?page=0", "page"),
        (f"{API}/products?page={HUGE}", "page"),
        (f"{API}/products?listed=maybe", "listed"),
        (f"{API}/products?q={'x' * 121}", "q"),
        (f"{API}/windows?status=bogus", "status"),
        (f"{API}/windows?page=-1", "page"),
    ]:
        response = client.get(url, headers=auth)
        assert response.status_code == 422, url
        assert set(response.get_json()["error"]["fields"]) == {field}, url
    assert client.get(f"{API}/products?listed=&page=9", headers=auth).get_json()["total"] == 1


# ---- who may call


def _all_requests(product_id: int, window_id: int):
    product, window = f"{API}/products/{product_id}", f"{API}/windows/{window_id}"
    return [
        ("GET", f"{API}/products", None),
        ("POST", f"{API}/products", {"name": "x", "price_fen": 1}),
        ("GET", product, None),
        ("PATCH", product, {"price_fen": 1}),
        ("POST", f"{product}/stock", {"add": 1}),
        ("POST", f"{product}/listing", {"listed": False}),
        ("GET", f"{API}/windows", None),
        ("POST", f"{API}/windows", {"title": "x"}),
        ("GET", window, None),
        ("PATCH", window, {"title": "x"}),
        ("POST", f"{window}/schedule", None),
        ("POST", f"{window}/unschedule", None),
        ("POST", f"{window}/open", None),
    ]


def test_another_merchants_products_and_windows_are_404(client, auth, make_merchant, make_product, make_window):
    theirs = make_merchant()
    product = make_product(theirs)
    window = draft_window(make_window, theirs, product)
    lists = (f"{API}/products", f"{API}/windows")
    requests = [r for r in _all_requests(product.id, window.id) + _all_requests(HUGE, 10**30) if r[1] not in lists]
    before = snapshot()
    for method, url, body in requests:
        response = client.open(url, method=method, json=body, headers=auth)
        assert response.status_code == 404, (method, url, response.status_code)
        assert response.get_json()["error"]["code"] == "not_found", url
    assert snapshot() == before


def test_leaders_staff_and_anonymous_are_refused(client, owner, apple, make_window, make_leader, make_point, make_user):
    window = draft_window(make_window, owner[1], apple)
    leader = make_leader()
    make_point(leader)
    staff = make_user("店员")
    make_point(staff=[staff])
    requests = _all_requests(apple.id, window.id)
    before = snapshot()
    for headers, statuses in [
        (bearer(leader.user), {403}),
        (bearer(staff), {403}),
        ({"Authorization": "Bearer gbw_not-a-real-token"}, {401}),
    ]:
        for method, url, body in requests:
            response = client.open(url, method=method, json=body, headers=headers)
            assert response.status_code in statuses, (method, url, response.status_code)
    for method, url, body in requests:
        # Without a session a write fails the CSRF check before the login check; either refuses.
        expected = {401} if method == "GET" else {400, 401}
        assert client.open(url, method=method, json=body).status_code in expected, (method, url)
    assert snapshot() == before


def test_openapi_document_describes_the_merchant_api(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    expected = {
        "/api/v1/merchant/products": {"get", "post"},
        "/api/v1/merchant/products/{product_id}": {"get", "patch"},
        "/api/v1/merchant/products/{product_id}/stock": {"post"},
        "/api/v1/merchant/products/{product_id}/listing": {"post"},
        "/api/v1/merchant/windows": {"get", "post"},
        "/api/v1/merchant/windows/{window_id}": {"get", "patch"},
        "/api/v1/merchant/windows/{window_id}/schedule": {"post"},
        "/api/v1/merchant/windows/{window_id}/unschedule": {"post"},
        "/api/v1/merchant/windows/{window_id}/open": {"post"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
        for op in paths[path].values():
            assert op["tags"] == ["merchant"] and "merchant" in op["description"]
            assert {"401", "403"} <= set(op["responses"])
    create = paths["/api/v1/merchant/windows"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/WindowIn"}
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/WindowDetail"
    }
    assert "409" in paths["/api/v1/merchant/windows/{window_id}"]["patch"]["responses"]
    query = {p["name"] for p in paths["/api/v1/merchant/products"]["get"]["parameters"]}
    assert query == {"q", "listed", "page"}
    leader_query = {p["name"] for p in paths["/api/v1/leader/orders"]["get"]["parameters"]}
    assert leader_query == {"window_id", "status", "page"}
    fen = spec["components"]["schemas"]["ProductIn"]["properties"]["price_fen"]
    assert fen["type"] == "integer" and fen["minimum"] == 0
