"""Products and stock: validation, exact money, atomic stock changes and stock alerts."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import AuditRecord, OutboxMessage, Product, StockAlert
from app.services.catalog import catalog
from app.services.core.errors import NotFound, ValidationFailed

GOOD = {
    "name": "  赣南脐橙 ",
    "spec": "5斤装",
    "category": "水果",
    "price_fen": 3990,
    "stock": 50,
    "low_stock_threshold": 5,
}


def _alerts(product_id):
    return list(
        db.session.scalars(select(StockAlert).where(StockAlert.product_id == product_id).order_by(StockAlert.id))
    )


def test_create_product_strips_text_and_keeps_fen(make_merchant):
    merchant = make_merchant()
    product = catalog.create_product(merchant, **GOOD)
    stored = db.session.get(Product, product.id)
    assert (stored.name, stored.price_fen, stored.stock, stored.listed) == ("赣南脐橙", 3990, 50, True)
    assert _alerts(product.id) == []


def test_new_product_at_its_threshold_opens_an_alert(make_merchant):
    product = catalog.create_product(make_merchant(), **{**GOOD, "stock": 5})
    assert len(_alerts(product.id)) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "长" * 121}, "name"),
        ({"name": "bad\x00name"}, "name"),
        ({"spec": "x" * 61}, "spec"),
        ({"category": "x" * 41}, "category"),
        ({"price_fen": -1}, "price"),
        ({"price_fen": 100_000_001}, "price"),
        ({"price_fen": 12.5}, "price"),
        ({"stock": -1}, "stock"),
        ({"stock": 1_000_001}, "stock"),
        ({"low_stock_threshold": -3}, "low_stock_threshold"),
        ({"low_stock_threshold": "7"}, "low_stock_threshold"),
    ],
)
def test_bad_product_fields_are_refused_and_nothing_is_written(make_merchant, change, field):
    merchant = make_merchant()
    with pytest.raises(ValidationFailed) as caught:
        catalog.create_product(merchant, **{**GOOD, **change})
    assert field in caught.value.fields
    assert db.session.scalar(select(func.count(Product.id))) == 0


def test_update_product_sets_stock_absolutely_and_syncs_alerts(make_product):
    product = make_product(stock=20, threshold=5)
    catalog.update_product(product, **{**GOOD, "stock": 3}, stock_seen=20)
    assert db.session.get(Product, product.id).stock == 3
    assert len(_alerts(product.id)) == 1


def test_update_product_refuses_to_overwrite_stock_sold_meanwhile(make_product):
    product = make_product(stock=20, threshold=0)
    # An order takes 4 units after the merchant opened the form (which showed 20).
    db.session.execute(update(Product).where(Product.id == product.id).values(stock=16))
    db.session.commit()
    with pytest.raises(ValidationFailed) as caught:
        catalog.update_product(product, **{**GOOD, "name": "renamed", "stock": 30}, stock_seen=20)
    assert "16" in caught.value.fields["stock"]
    stored = db.session.get(Product, product.id)
    assert (stored.stock, stored.name) == (16, product.name)


def test_update_product_without_stock_change_keeps_concurrent_sales(make_product):
    product = make_product(stock=20)
    db.session.execute(update(Product).where(Product.id == product.id).values(stock=16))
    db.session.commit()
    catalog.update_product(product, **{**GOOD, "stock": 20}, stock_seen=20)
    stored = db.session.get(Product, product.id)
    assert (stored.stock, stored.name) == (16, "赣南脐橙")


def test_add_stock_increments_in_sql_not_from_a_stale_object(make_product):
    product = make_product(stock=10)
    # Another transaction sold 7; the object in this session still says 10.
    db.session.execute(
        update(Product).where(Product.id == product.id).values(stock=3).execution_options(synchronize_session=False)
    )
    db.session.commit()
    assert catalog.add_stock(product, 5) == 8
    assert db.session.get(Product, product.id).stock == 8
    assert db.session.scalar(select(AuditRecord.action)) == "product.stock_added"


def test_concurrent_stock_additions_all_count(app, make_product):
    product = make_product(stock=0, threshold=0)
    product_id = product.id
    errors = []

    def worker():
        with app.app_context():
            try:
                catalog.add_stock(db.session.get(Product, product_id), 3)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db.session.rollback()  # end this session's snapshot before reading
    assert db.session.get(Product, product_id).stock == 18


@pytest.mark.parametrize("quantity", [0, -5, 1_000_001, "3", 2.5])
def test_add_stock_refuses_bad_quantities(make_product, quantity):
    product = make_product(stock=10)
    with pytest.raises(ValidationFailed) as caught:
        catalog.add_stock(product, quantity)
    assert "quantity" in caught.value.fields
    assert db.session.get(Product, product.id).stock == 10


def test_add_stock_never_pushes_stock_past_the_maximum(make_product):
    product = make_product(stock=999_999)
    with pytest.raises(ValidationFailed):
        catalog.add_stock(product, 2)
    assert db.session.get(Product, product.id).stock == 999_999


def test_one_alert_per_crossing_and_raising_stock_clears_it(make_product):
    product = make_product(stock=10, threshold=3)
    values = {key: value for key, value in GOOD.items() if key != "stock"} | {"low_stock_threshold": 3}
    catalog.update_product(product, **values, stock=3, stock_seen=10)  # crossing down: alert
    catalog.update_product(product, **values, stock=1, stock_seen=3)  # still below: no second alert
    alerts = _alerts(product.id)
    assert len(alerts) == 1 and alerts[0].cleared_at is None
    outbox = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "stock_alert")).all()
    assert len(outbox) == 1

    catalog.add_stock(product, 10)  # raised above: cleared
    alerts = _alerts(product.id)
    assert len(alerts) == 1 and alerts[0].cleared_at is not None
    assert db.session.get(Product, product.id).stock_alert_open is False

    catalog.update_product(product, **values, stock=2, stock_seen=11)  # second crossing: second alert
    assert len(_alerts(product.id)) == 2


def test_add_stock_that_stays_below_threshold_keeps_the_alert_open(make_product):
    product = make_product(stock=1, threshold=10)
    catalog.add_stock(product, 1)  # the first sync opens the alert for the existing shortage
    catalog.add_stock(product, 1)
    alerts = _alerts(product.id)
    assert len(alerts) == 1 and alerts[0].cleared_at is None


def test_list_products_searches_filters_and_pages(make_merchant, make_product):
    merchant = make_merchant()
    other = make_merchant()
    db.session.add_all(
        Product(merchant_id=merchant.id, name=f"青菜{i:03d}", category="蔬菜", price_fen=100, listed=i % 10 != 0)
        for i in range(120)
    )
    db.session.commit()
    make_product(merchant, name="牛奶 100%_纯")
    make_product(other, name="青菜-别家")

    first = catalog.list_products(merchant.id, query="青菜")
    assert (first.total, len(first.items), first.pages, first.has_next) == (120, 50, 3, True)
    last = catalog.list_products(merchant.id, query="蔬", page=99)
    assert (last.page, len(last.items)) == (3, 20)
    assert catalog.list_products(merchant.id, listed=False).total == 12
    # LIKE wildcards typed by the user are literal characters.
    assert [p.name for p in catalog.list_products(merchant.id, query="%_").items] == ["牛奶 100%_纯"]
    assert catalog.list_products(merchant.id, query="别家").total == 0


def test_product_of_another_merchant_is_not_found(make_merchant, make_product):
    mine, theirs = make_merchant(), make_merchant()
    product = make_product(theirs)
    with pytest.raises(NotFound):
        catalog.get_product(mine.id, product.id)
    assert catalog.get_product(theirs.id, product.id).id == product.id


def test_unlist_and_relist(make_product):
    product = make_product()
    catalog.set_listed(product, False)
    assert db.session.get(Product, product.id).listed is False
    catalog.set_listed(product, True)
    assert db.session.get(Product, product.id).listed is True
