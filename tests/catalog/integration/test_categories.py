"""Two-level categories: a product's category and subcategory, the category tree on the list
with counts, filtering by either level, renaming a category on every product at once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Product
from app.services.accounts import tokens
from tests.support.forms import csrf_from

GOOD = {
    "name": "赣南脐橙",
    "spec": "5斤",
    "category": "水果",
    "subcategory": "柑橘",
    "price": "12.50",
    "stock": "40",
    "low_stock_threshold": "5",
    "listed": "y",
}


@pytest.fixture
def owner(signed_in_owner):
    return signed_in_owner


def _new(client, **fields):
    token = csrf_from(client.get("/merchant/products/new").get_data(as_text=True))
    return client.post("/merchant/products/new", data={**GOOD, **fields, "csrf_token": token})


def test_products_carry_a_category_and_subcategory_and_the_list_filters_by_them(client, owner):
    assert _new(client).status_code == 302
    assert _new(client, name="丑橘", subcategory="柑橘").status_code == 302
    assert _new(client, name="葡萄", subcategory="葡萄").status_code == 302
    assert _new(client, name="牛奶", category="蛋奶", subcategory="").status_code == 302
    page = client.get("/merchant/products").get_data(as_text=True)
    tree = page.split('data-testid="categories"', 1)[1].split("</nav>", 1)[0]
    assert "水果 (3)" in tree and "蛋奶 (1)" in tree
    fruit = client.get("/merchant/products?category=水果").get_data(as_text=True)
    assert "柑橘 (2)" in fruit and fruit.count('data-testid="product-row"') == 3
    citrus = client.get("/merchant/products?category=水果&sub=柑橘").get_data(as_text=True)
    assert citrus.count('data-testid="product-row"') == 2 and "水果 / 柑橘" in citrus


def test_a_subcategory_needs_its_category(client, owner):
    response = _new(client, category="", subcategory="柑橘")
    assert response.status_code == 422
    assert db.session.scalar(select(Product.id)) is None


def test_renaming_a_category_or_subcategory_changes_every_product_in_it(client, owner):
    _new(client)
    _new(client, name="丑橘")
    token = csrf_from(client.get("/merchant/products?category=水果").get_data(as_text=True))
    client.post("/merchant/products/categories/rename", data={"csrf_token": token, "old": "水果", "new_name": "鲜果"})
    client.post(
        "/merchant/products/categories/rename",
        data={"csrf_token": token, "old": "柑橘", "parent": "鲜果", "new_name": "橙柚"},
    )
    db.session.expire_all()
    assert set(db.session.execute(select(Product.category, Product.subcategory)).all()) == {("鲜果", "橙柚")}
    refused = client.post(
        "/merchant/products/categories/rename", data={"csrf_token": token, "old": "鲜果", "new_name": "x" * 41}
    )
    assert refused.status_code == 302
    assert (
        client.post(
            "/merchant/products/categories/rename", data={"csrf_token": token, "old": "鲜果", "new_name": ""}
        ).status_code
        == 302
    )
    assert set(db.session.scalars(select(Product.category))) == {"鲜果"}


def test_editing_a_product_elsewhere_keeps_its_subcategory(client, owner):
    user, merchant = owner
    _new(client)
    product = db.session.scalar(select(Product))
    _token, plain = tokens.create_token(user, "api")
    response = client.patch(
        f"/api/v1/merchant/products/{product.id}", json={"price_fen": 999}, headers={"Authorization": f"Bearer {plain}"}
    )
    assert response.status_code == 200 and response.get_json()["subcategory"] == "柑橘"
    assert db.session.get(Product, product.id, populate_existing=True).subcategory == "柑橘"
