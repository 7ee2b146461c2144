"""Merchant product tools: a photo per product (checked, thumbnailed, cached for a year, shown on
the shop page), bulk price and stock edits from the list (all rows or none), and scheduled
listing and unlisting applied by a job that is safe to re-run."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.models import AuditRecord, Product
from app.services.catalog import listing_schedule, product_images
from app.services.core import photos
from tests.support.forms import csrf_from


@pytest.fixture(autouse=True)
def own_upload_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))


@pytest.fixture
def owner(signed_in_owner):
    return signed_in_owner


def _png(size=(800, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 160, 60)).save(out, "PNG")
    return out.getvalue()


def _token(client, url="/merchant/products"):
    return csrf_from(client.get(url).get_data(as_text=True))


def _upload(client, product_id, data, name="p.png"):
    return client.post(
        f"/merchant/products/{product_id}/image",
        content_type="multipart/form-data",
        data={"csrf_token": _token(client, f"/merchant/products/{product_id}/edit"), "image": (io.BytesIO(data), name)},
    )


def test_a_photo_is_stored_with_a_thumbnail_served_cached_and_shown_in_the_shop(
    app, client, owner, make_product, make_window, make_leader, make_share_link
):
    _user, merchant = owner
    product = make_product(merchant, name="赣南脐橙")
    assert _upload(client, product.id, _png()).status_code == 302
    name = db.session.get(Product, product.id, populate_existing=True).image_name
    big = client.get(f"/media/products/{name}")
    thumb = client.get(f"/media/products/{photos.thumb_name(name)}")
    assert big.status_code == thumb.status_code == 200 and big.mimetype == "image/jpeg"
    assert big.headers["Cache-Control"] == "public, max-age=31536000, immutable" and big.headers["ETag"]
    assert client.get(f"/media/products/{name}", headers={"If-None-Match": big.headers["ETag"]}).status_code == 304
    assert max(Image.open(io.BytesIO(thumb.data)).size) == photos.THUMB_EDGE
    window = make_window(merchant, items=[{"product": product}])
    link = make_share_link(window, make_leader())
    assert photos.thumb_name(name) in client.get(f"/s/{link.slug}").get_data(as_text=True)

    assert _upload(client, product.id, _png((100, 100))).status_code == 302  # replaced: old files go
    new = db.session.get(Product, product.id, populate_existing=True).image_name
    assert new != name and client.get(f"/media/products/{name}").status_code == 404
    token = _token(client, f"/merchant/products/{product.id}/edit")
    client.post(f"/merchant/products/{product.id}/image/remove", data={"csrf_token": token})
    assert db.session.get(Product, product.id, populate_existing=True).image_name is None
    assert client.get(f"/media/products/{new}").status_code == 404
    assert {"product.image_set", "product.image_removed"} <= set(db.session.scalars(select(AuditRecord.action)))


@pytest.mark.parametrize(
    "data", [b"", b"<svg onload=alert(1)>", b"GIF89a", _png()[:100]], ids=["empty", "svg", "gif", "truncated"]
)
def test_non_images_are_refused_and_nothing_is_kept(app, client, owner, make_product, data):
    product = make_product(owner[1])
    response = _upload(client, product.id, data)
    assert response.status_code == 302
    assert "error" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert db.session.get(Product, product.id, populate_existing=True).image_name is None
    folder = photos.upload_dir(product_images.KIND)
    assert not folder.exists() or list(folder.iterdir()) == []


def test_a_missing_file_field_is_a_clear_error(client, owner, make_product):
    product = make_product(owner[1])
    token = _token(client, f"/merchant/products/{product.id}/edit")
    response = client.post(f"/merchant/products/{product.id}/image", data={"csrf_token": token})
    assert response.status_code == 302


def test_media_names_are_checked(client):
    for name in ("../secret_key", "x.jpg", "A" * 32 + ".jpg", "0" * 32 + ".png"):
        assert client.get(f"/media/products/{name}").status_code == 404


def test_another_merchants_product_photo_cannot_be_changed(client, owner, make_product, make_merchant):
    theirs = make_product(make_merchant("别家"))
    assert _upload(client, theirs.id, _png()).status_code == 404


def test_bulk_edit_saves_the_changed_rows(client, owner, make_product):
    _user, merchant = owner
    a, b, c = (make_product(merchant, name=n, price_fen=1000, stock=10) for n in ("甲", "乙", "丙"))
    page = client.get("/merchant/products").get_data(as_text=True)
    form = {"csrf_token": csrf_from(page)}
    for p in (a, b, c):
        form.update(
            {f"price-{p.id}": "10.00", f"price_seen-{p.id}": "10.00", f"stock-{p.id}": "10", f"stock_seen-{p.id}": "10"}
        )
    form.update({f"price-{a.id}": "8.80", f"stock-{b.id}": "25"})
    response = client.post("/merchant/products/bulk-edit", data=form)
    assert response.status_code == 303
    db.session.expire_all()
    assert [(p.price_fen, p.stock) for p in (db.session.get(Product, x.id) for x in (a, b, c))] == [
        (880, 10),
        (1000, 25),
        (1000, 10),
    ]


@pytest.mark.parametrize(
    ("price", "stock"),
    [("abc", "10"), ("-1", "10"), ("10.001", "10"), ("10.00", "-5"), ("10.00", "1e3"), ("10.00", "9999999")],
)
def test_bulk_edit_with_a_bad_row_saves_nothing_and_marks_it(client, owner, make_product, price, stock):
    _user, merchant = owner
    good, bad = make_product(merchant, price_fen=1000, stock=10), make_product(merchant, price_fen=1000, stock=10)
    form = {"csrf_token": _token(client)}
    for p in (good, bad):
        form.update({f"price_seen-{p.id}": "10.00", f"stock_seen-{p.id}": "10"})
    form.update(
        {f"price-{good.id}": "5.00", f"stock-{good.id}": "10", f"price-{bad.id}": price, f"stock-{bad.id}": stock}
    )
    response = client.post("/merchant/products/bulk-edit", data=form)
    assert response.status_code == 422 and 'data-testid="bulk-error"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Product, good.id).price_fen == 1000 and db.session.get(Product, bad.id).stock == 10


def test_bulk_edit_does_not_overwrite_stock_sold_meanwhile(client, owner, make_product):
    _user, merchant = owner
    p = make_product(merchant, price_fen=1000, stock=10)
    token = _token(client)
    p.stock = 7  # three sold while the list was open
    db.session.commit()
    response = client.post(
        "/merchant/products/bulk-edit",
        data={
            "csrf_token": token,
            f"price-{p.id}": "9.00",
            f"price_seen-{p.id}": "10.00",
            f"stock-{p.id}": "20",
            f"stock_seen-{p.id}": "10",
        },
    )
    assert response.status_code == 422 and "changed to 7" in response.get_data(as_text=True)
    db.session.expire_all()
    assert (db.session.get(Product, p.id).stock, db.session.get(Product, p.id).price_fen) == (7, 1000)


def test_bulk_edit_of_another_merchants_product_saves_nothing(client, owner, make_product, make_merchant):
    mine, theirs = make_product(owner[1], price_fen=1000), make_product(make_merchant("别家"), price_fen=1000)
    response = client.post(
        "/merchant/products/bulk-edit",
        data={
            "csrf_token": _token(client),
            f"price-{mine.id}": "1.00",
            f"price_seen-{mine.id}": "10.00",
            f"price-{theirs.id}": "1.00",
            f"price_seen-{theirs.id}": "10.00",
        },
    )
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Product, mine.id).price_fen == db.session.get(Product, theirs.id).price_fen == 1000


def test_scheduled_listing_and_unlisting_happen_once_at_their_time(client, owner, make_product, frozen_clock):
    _user, merchant = owner
    product = make_product(merchant, listed=False)
    token = _token(client, f"/merchant/products/{product.id}/edit")
    # 12:00 and 18:00 in Shanghai on the frozen day (02:00 UTC is 10:00 there).
    response = client.post(
        f"/merchant/products/{product.id}/schedule",
        data={"csrf_token": token, "list_at": "2026-11-22T12:00", "unlist_at": "2026-11-22T18:00"},
    )
    assert response.status_code == 303
    assert listing_schedule.apply_listing_schedule() == 0
    frozen_clock.advance(hours=2)
    assert listing_schedule.apply_listing_schedule() == 1
    assert listing_schedule.apply_listing_schedule() == 0  # a re-run changes nothing more
    assert db.session.get(Product, product.id, populate_existing=True).listed is True
    frozen_clock.advance(hours=6)
    assert listing_schedule.apply_listing_schedule() == 1
    product = db.session.get(Product, product.id, populate_existing=True)
    assert (product.listed, product.list_at, product.unlist_at) == (False, None, None)


@pytest.mark.parametrize(
    "form",
    [
        {"list_at": "soon"},
        {"list_at": "2020-01-01T00:00"},
        {"list_at": "2030-01-01T00:00"},
        {"list_at": "2026-11-22T18:00", "unlist_at": "2026-11-22T12:00"},
    ],
)
def test_bad_schedules_are_refused(client, owner, make_product, frozen_clock, form):
    product = make_product(owner[1])
    token = _token(client, f"/merchant/products/{product.id}/edit")
    response = client.post(f"/merchant/products/{product.id}/schedule", data={"csrf_token": token, **form})
    assert response.status_code == 302
    product = db.session.get(Product, product.id, populate_existing=True)
    assert product.list_at is None and product.unlist_at is None
    frozen_clock.advance(days=1)
    assert listing_schedule.apply_listing_schedule() == 0


def test_clearing_the_schedule_stops_it(client, owner, make_product, frozen_clock):
    product = make_product(owner[1], listed=False)
    listing_schedule.set_schedule(product, list_at=frozen_clock.now + timedelta(hours=1), unlist_at=None, actor="t")
    token = _token(client, f"/merchant/products/{product.id}/edit")
    client.post(f"/merchant/products/{product.id}/schedule", data={"csrf_token": token, "list_at": "", "unlist_at": ""})
    frozen_clock.advance(hours=2)
    assert listing_schedule.apply_listing_schedule() == 0
