"""Merchant product pages over HTTP: forms, field errors, tenancy, stock actions, the home page."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Product, StockAlert
from tests.support.forms import csrf_from

GOOD = {
    "name": "赣南脐橙",
    "spec": "5斤装",
    "category": "水果",
    "price": "12.50",
    "stock": "40",
    "low_stock_threshold": "5",
    "listed": "y",
}


@pytest.fixture
def owner(make_user, make_merchant):
    user = make_user("老板")
    merchant = make_merchant(owner=user)
    return user, merchant


@pytest.fixture
def merchant_client(client, login, owner):
    login(owner[0])
    return client


def _token(client, url="/merchant/products/new"):
    return csrf_from(client.get(url).get_data(as_text=True))


def _count():
    return db.session.scalar(select(func.count(Product.id)))


def test_create_product_stores_fen_and_lists_it(merchant_client, owner):
    response = merchant_client.post("/merchant/products/new", data={**GOOD, "csrf_token": _token(merchant_client)})
    assert response.status_code == 302
    product = db.session.scalar(select(Product))
    assert (product.merchant_id, product.price_fen, product.stock, product.low_stock_threshold) == (
        owner[1].id,
        1250,
        40,
        5,
    )
    page = merchant_client.get("/merchant/products").get_data(as_text=True)
    assert "赣南脐橙" in page and f'name="price-{product.id}" inputmode="decimal" maxlength="12" value="12.50"' in page


BAD_PRODUCT_INPUT = [
    ("name", ""),
    ("name", "橙" * 121),
    ("name", "bad\x00name"),
    ("spec", "x" * 61),
    ("category", "x" * 41),
    ("price", ""),
    ("price", "12.345"),
    ("price", "-1"),
    ("price", "1000000.01"),
    ("price", "12,50"),
    ("price", "NaN"),
    ("stock", ""),
    ("stock", "-1"),
    ("stock", "1000001"),
    ("stock", "1e3"),
    ("stock", "99999999999999999999999"),
    ("low_stock_threshold", "-5"),
    ("low_stock_threshold", "abc"),
]


def test_bad_product_input_shows_a_field_error_and_writes_nothing(merchant_client):
    # One login for all cases keeps this fast; every failing case is reported, not just the first.
    token = _token(merchant_client)
    failures = []
    for field, value in BAD_PRODUCT_INPUT:
        response = merchant_client.post("/merchant/products/new", data={**GOOD, field: value, "csrf_token": token})
        html = response.get_data(as_text=True)
        error_shown = f'id="{field}"' in html and "has-error" in html and 'class="error"' in html
        if response.status_code != 422 or not error_shown:
            failures.append((field, value, response.status_code))
    assert failures == []
    assert _count() == 0


def test_missing_fields_are_errors_not_crashes(merchant_client):
    response = merchant_client.post("/merchant/products/new", data={"csrf_token": _token(merchant_client)})
    assert response.status_code == 422
    assert _count() == 0


def test_hostile_text_is_rendered_escaped(merchant_client):
    hostile = '<script>alert("x")</script>'
    token = _token(merchant_client)
    rejected = merchant_client.post(
        "/merchant/products/new", data={**GOOD, "name": hostile, "price": "x", "csrf_token": token}
    )
    assert rejected.status_code == 422
    assert "<script>alert" not in rejected.get_data(as_text=True)
    assert "&lt;script&gt;" in rejected.get_data(as_text=True)

    accepted = merchant_client.post("/merchant/products/new", data={**GOOD, "category": hostile, "csrf_token": token})
    assert accepted.status_code == 302
    page = merchant_client.get("/merchant/products").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_edit_product_and_bad_edit_changes_nothing(merchant_client, owner, make_product):
    product = make_product(owner[1], name="旧名字", price_fen=1000, stock=20)
    url = f"/merchant/products/{product.id}/edit"
    page = merchant_client.get(url).get_data(as_text=True)
    assert 'value="10.00"' in page and 'name="stock_seen" type="hidden" value="20"' in page
    token = csrf_from(page)

    bad = merchant_client.post(url, data={**GOOD, "price": "-3", "stock_seen": "20", "csrf_token": token})
    assert bad.status_code == 422
    db.session.expire_all()
    assert (product.name, product.price_fen, product.stock) == ("旧名字", 1000, 20)

    good = merchant_client.post(url, data={**GOOD, "price": "8.8", "stock_seen": "20", "csrf_token": token})
    assert good.status_code == 302
    db.session.expire_all()
    assert (product.name, product.price_fen, product.stock) == ("赣南脐橙", 880, 40)


def test_edit_does_not_overwrite_stock_sold_while_the_form_was_open(merchant_client, owner, make_product):
    product = make_product(owner[1], stock=20)
    url = f"/merchant/products/{product.id}/edit"
    token = _token(merchant_client, url)
    db.session.execute(update(Product).where(Product.id == product.id).values(stock=17))
    db.session.commit()
    response = merchant_client.post(url, data={**GOOD, "stock": "25", "stock_seen": "20", "csrf_token": token})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "17" in html and 'name="stock_seen" type="hidden" value="17"' in html
    db.session.expire_all()
    assert product.stock == 17


def test_another_merchants_product_is_not_found(merchant_client, make_product):
    theirs = make_product(stock=9)
    token = _token(merchant_client)
    base = f"/merchant/products/{theirs.id}"
    assert merchant_client.get(base + "/edit").status_code == 404
    assert merchant_client.post(base + "/edit", data={**GOOD, "csrf_token": token}).status_code == 404
    assert merchant_client.post(base + "/stock", data={"quantity": "5", "csrf_token": token}).status_code == 404
    assert merchant_client.post(base + "/listed", data={"listed": "0", "csrf_token": token}).status_code == 404
    db.session.expire_all()
    assert theirs.stock == 9 and theirs.listed is True and theirs.name != GOOD["name"]


def test_add_stock_clears_the_alert_shown_on_the_home_page(merchant_client, owner, make_product):
    product = make_product(owner[1], name="鸡蛋", stock=2, threshold=5)
    url = f"/merchant/products/{product.id}/edit"
    token = _token(merchant_client, url)
    # Setting stock absolutely to the same low number re-syncs and opens the alert.
    merchant_client.post(url, data={**GOOD, "name": "鸡蛋", "stock": "1", "stock_seen": "2", "csrf_token": token})
    home = merchant_client.get("/merchant/").get_data(as_text=True)
    assert 'data-testid="stock-alert"' in home and "鸡蛋" in home

    response = merchant_client.post(
        f"/merchant/products/{product.id}/stock", data={"quantity": "10", "csrf_token": token, "next": url}
    )
    assert response.status_code == 302 and response.headers["Location"] == url
    db.session.expire_all()
    assert product.stock == 11
    assert db.session.scalar(select(StockAlert.cleared_at)) is not None
    assert 'data-testid="stock-alert"' not in merchant_client.get("/merchant/").get_data(as_text=True)


def test_bad_stock_quantity_is_refused_with_a_field_error(merchant_client, owner, make_product):
    product = make_product(owner[1], stock=7)
    token = _token(merchant_client)
    failures = []
    for quantity in ["", "0", "-4", "1000001", "2.5", "ten"]:
        response = merchant_client.post(
            f"/merchant/products/{product.id}/stock", data={"quantity": quantity, "csrf_token": token}
        )
        html = response.get_data(as_text=True)
        if response.status_code != 422 or 'id="quantity"' not in html or "has-error" not in html:
            failures.append((quantity, response.status_code))
    assert failures == []
    db.session.expire_all()
    assert product.stock == 7


def test_add_stock_ignores_an_offsite_next(merchant_client, owner, make_product):
    product = make_product(owner[1])
    token = _token(merchant_client)
    response = merchant_client.post(
        f"/merchant/products/{product.id}/stock",
        data={"quantity": "1", "csrf_token": token, "next": "//evil.example/x"},
    )
    assert response.headers["Location"] == "/merchant/products"


def test_unlist_relist_and_filter(merchant_client, owner, make_product):
    product = make_product(owner[1], name="下架的")
    make_product(owner[1], name="在售的")
    token = _token(merchant_client)
    merchant_client.post(f"/merchant/products/{product.id}/listed", data={"listed": "0", "csrf_token": token})
    db.session.expire_all()
    assert product.listed is False
    unlisted = merchant_client.get("/merchant/products?listed=unlisted").get_data(as_text=True)
    assert "下架的" in unlisted and "在售的" not in unlisted
    merchant_client.post(f"/merchant/products/{product.id}/listed", data={"listed": "1", "csrf_token": token})
    db.session.expire_all()
    assert product.listed is True


def test_product_list_pages_and_searches(merchant_client, owner):
    db.session.add_all(
        Product(merchant_id=owner[1].id, name=f"青菜{i:02d}", category="蔬菜", price_fen=100) for i in range(55)
    )
    db.session.add(Product(merchant_id=owner[1].id, name="牛奶", category="乳品", price_fen=100))
    db.session.commit()
    first = merchant_client.get("/merchant/products?q=蔬菜").get_data(as_text=True)
    assert first.count('data-testid="product-row"') == 50 and 'rel="next"' in first
    second = merchant_client.get("/merchant/products?q=蔬菜&page=2").get_data(as_text=True)
    assert second.count('data-testid="product-row"') == 5
    assert merchant_client.get("/merchant/products?page=abc&listed=bogus").status_code == 200
    found = merchant_client.get("/merchant/products?q=牛").get_data(as_text=True)
    assert found.count('data-testid="product-row"') == 1


def test_home_shows_counts(merchant_client, owner, make_product, make_window):
    product = make_product(owner[1])
    make_window(owner[1], items=[{"product": product}], status="open")
    html = merchant_client.get("/merchant/").get_data(as_text=True)
    assert 'data-testid="count-products"' in html and 'data-testid="count-open-windows"' in html
    assert "merchant/windows/new" in html


def test_pages_refuse_anonymous_and_non_merchants(client, login, make_leader):
    assert client.get("/merchant/products").status_code == 302
    leader = make_leader()
    login(leader.user)
    assert client.get("/merchant/products").status_code == 403
    assert client.get("/merchant/windows").status_code == 403
