"""After-sales: customers (order page) and leaders open a request for an item with a photo; the
merchant refunds all or part of it or rejects it with a reason; refunds land in the ledger and
everything is audited. Bad, oversized and hostile input is refused and changes nothing."""

from __future__ import annotations

import gc
import io
import random
import warnings
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.extensions import db
from app.models import AfterSalesRequest, AuditRecord, MerchantMember, Order, OutboxMessage, Refund, User
from app.services.core import photos
from app.services.orders import after_sales
from tests.support.forms import csrf_from
from tests.support.money import paid_online
from tests.support.pickup import Bags


def _jpeg(size=(64, 48), exif_gps=False) -> bytes:
    image = Image.new("RGB", size, (200, 40, 40))
    out = io.BytesIO()
    if exif_gps:
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"  # Make
        exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0)}  # GPS
        image.save(out, "JPEG", exif=exif)
    else:
        image.save(out, "JPEG")
    return out.getvalue()


@pytest.fixture(autouse=True)
def own_upload_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))


@pytest.fixture
def bag(make_user, make_product, make_window, make_point, make_order):
    bag = Bags(make_user, make_product, make_window, make_point, make_order).make(quantities=(3, 2), name="王小明")
    paid_online(bag.order)
    return bag


def _merchant_user(bag) -> User:
    user_id = db.session.scalar(
        select(MerchantMember.user_id).where(MerchantMember.merchant_id == bag.window.merchant_id)
    )
    return db.session.get(User, user_id)


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _open_as_customer(client, bag, *, photo=True, **overrides):
    token = bag.order.access_token
    page = client.get(f"/o/{token}").get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(page),
        "item_id": str(bag.order.items[0].id),
        "reason": "quality",
        "quantity": "2",
        "note": "两个烂了",
    }
    if photo:
        data["photo"] = (io.BytesIO(_jpeg() if photo is True else photo), "p.jpg")
    data.update(overrides)
    return client.post(f"/o/{token}/after-sales", data=data, content_type="multipart/form-data")


def _uploaded_files(app) -> list:
    folder = photos.upload_dir(after_sales.PHOTO_KIND)
    return sorted(p.name for p in folder.glob("*")) if folder.exists() else []


def test_customer_opens_a_request_and_the_merchant_refunds_part_of_it(client, login, bag, app):
    response = _open_as_customer(client, bag)
    assert response.status_code == 303
    req = db.session.scalar(select(AfterSalesRequest))
    assert (req.status, req.quantity, req.reason, req.opened_by) == ("open", 2, "quality", "customer")
    assert len(_uploaded_files(app)) == 1 and req.photo_name in _uploaded_files(app)
    assert _count(OutboxMessage, OutboxMessage.kind == "after_sales") == 1
    assert "after-sales-" in client.get(f"/o/{bag.order.access_token}").get_data(as_text=True)

    login(_merchant_user(bag))
    listing = client.get("/merchant/after-sales").get_data(as_text=True)
    assert f'data-testid="after-sales-{req.id}"' in listing
    detail = client.get(f"/merchant/after-sales/{req.id}").get_data(as_text=True)
    photo = client.get(f"/merchant/after-sales/{req.id}/photo.jpg")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    unit = bag.order.items[0].unit_price_fen
    response = client.post(
        f"/merchant/after-sales/{req.id}/decide",
        data={"csrf_token": csrf_from(detail), "action": "approve", "amount": f"{unit / 100:.2f}", "note": "补偿一个"},
    )
    assert response.status_code == 303
    db.session.expire_all()
    req = db.session.get(AfterSalesRequest, req.id)
    refund = db.session.get(Refund, req.refund_id)
    assert (req.status, req.refund_fen, req.open_item_id) == ("approved", unit, None)
    assert (refund.amount_fen, refund.reason, refund.status) == (unit, "after_sales", "succeeded")
    assert db.session.get(Order, bag.order.id).refunded_fen == unit
    actions = set(db.session.scalars(select(AuditRecord.action)))
    assert {"after_sales_open", "after_sales_decide", "refund"} <= actions
    assert _count(OutboxMessage, OutboxMessage.kind == "after_sales") == 2


def test_a_partly_collected_order_can_be_refunded_and_the_rest_still_waits(client, login, bag, make_user):
    from app.services.counter import redemption_lines  # noqa: F401 - the order stays as redemption left it

    first = bag.order.items[0]
    first.redeemed_qty = 1
    db.session.commit()
    _open_as_customer(client, bag, quantity="3")
    req = db.session.scalar(select(AfterSalesRequest))
    after_sales.decide("user:1", req, approve=True, refund_fen=first.unit_price_fen * 3, note="")
    order = db.session.get(Order, bag.order.id, populate_existing=True)
    assert order.status == "ready_for_pickup" and order.refunded_fen == first.unit_price_fen * 3
    with pytest.raises(after_sales.AlreadyDecided):
        after_sales.decide("user:1", req, approve=True, refund_fen=1, note="")
    assert _count(Refund) == 1


def test_reject_needs_a_reason_and_refunds_nothing(client, login, bag):
    _open_as_customer(client, bag)
    req = db.session.scalar(select(AfterSalesRequest))
    login(_merchant_user(bag))
    token = csrf_from(client.get(f"/merchant/after-sales/{req.id}").get_data(as_text=True))
    response = client.post(f"/merchant/after-sales/{req.id}/decide", data={"csrf_token": token, "action": "reject"})
    assert response.status_code == 422 and 'role="alert"' in response.get_data(as_text=True)
    response = client.post(
        f"/merchant/after-sales/{req.id}/decide",
        data={"csrf_token": token, "action": "reject", "note": "照片看不出问题"},
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(AfterSalesRequest, req.id).status == "rejected" and _count(Refund) == 0
    # Once decided, the line may get a new request (e.g. with a better photo).
    assert _open_as_customer(client, bag).status_code == 303


@pytest.mark.parametrize(
    "form",
    [
        {"action": "approve", "amount": "abc"},
        {"action": "approve", "amount": "-1"},
        {"action": "approve", "amount": "0"},
        {"action": "approve", "amount": "99999"},
        {"action": "approve", "amount": "1.234"},
        {"action": "explode"},
        {"action": "reject", "note": "x" * 201},
        {"action": "reject", "note": "bad\x00note"},
    ],
)
def test_bad_decisions_change_nothing(client, login, bag, form):
    _open_as_customer(client, bag)
    req = db.session.scalar(select(AfterSalesRequest))
    login(_merchant_user(bag))
    token = csrf_from(client.get(f"/merchant/after-sales/{req.id}").get_data(as_text=True))
    response = client.post(f"/merchant/after-sales/{req.id}/decide", data={"csrf_token": token, **form})
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(AfterSalesRequest, req.id).status == "open" and _count(Refund) == 0


def test_a_refund_beyond_what_is_left_of_the_payment_is_refused_and_the_request_stays_open(client, login, bag):
    _open_as_customer(client, bag)
    req = db.session.scalar(select(AfterSalesRequest))
    order = db.session.get(Order, bag.order.id)
    order.refunded_fen = order.paid_fen - 1  # refunded already for other reasons
    db.session.commit()
    login(_merchant_user(bag))
    token = csrf_from(client.get(f"/merchant/after-sales/{req.id}").get_data(as_text=True))
    response = client.post(
        f"/merchant/after-sales/{req.id}/decide", data={"csrf_token": token, "action": "approve", "amount": "1.00"}
    )
    assert response.status_code == 409 and 'data-testid="decision-error"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(AfterSalesRequest, req.id).status == "open" and _count(Refund) == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reason": "bribe"}, "reason"),
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "4"}, "quantity"),
        ({"quantity": "1e3"}, "quantity"),
        ({"item_id": "999999"}, "item_id"),
        ({"item_id": "<script>"}, "item_id"),
        ({"note": "长" * 501}, "note"),
        ({"note": "\x1b[31m"}, "note"),
    ],
)
def test_bad_requests_are_refused_by_field_and_store_nothing(client, bag, app, overrides, field):
    response = _open_as_customer(client, bag, **overrides)
    assert response.status_code == 422
    assert 'role="alert"' in response.get_data(as_text=True)
    assert _count(AfterSalesRequest) == 0 and _uploaded_files(app) == []


@pytest.mark.parametrize(
    ("photo", "status"),
    [
        (b"GIF89a not really", 422),
        (b"%PDF-1.4 hello", 422),
        (_jpeg()[:200], 422),  # truncated
        (None, 422),  # quality needs a photo
    ],
    ids=["gif-bytes", "pdf", "truncated-jpeg", "missing"],
)
def test_non_images_and_missing_photos_are_refused(client, bag, app, photo, status):
    response = _open_as_customer(client, bag, photo=photo if photo is not None else False)
    assert response.status_code == status
    assert _count(AfterSalesRequest) == 0 and _uploaded_files(app) == []


def test_oversized_photos_are_refused_with_a_clear_message(client, bag, app):
    app.config["PHOTO_MAX_BYTES"] = 100_000
    noisy = Image.frombytes("RGB", (250, 250), random.Random(7).randbytes(250 * 250 * 3))
    out = io.BytesIO()
    noisy.save(out, "PNG")
    assert len(out.getvalue()) > 100_000
    response = _open_as_customer(client, bag, photo=out.getvalue())
    assert response.status_code == 422 and "MB" in response.get_data(as_text=True)
    huge = _open_as_customer(client, bag, photo=b"\xff" * 600_000)  # beyond the body limit itself
    assert huge.status_code == 413
    huge.close()
    del huge
    # Werkzeug drops the spooled file of a body it stopped reading without closing it; collect it
    # here so its ResourceWarning is not blamed on a later test.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    assert _count(AfterSalesRequest) == 0 and _uploaded_files(app) == []


def test_the_stored_photo_is_re_encoded_without_the_phones_location(client, bag, app):
    assert "exif" in Image.open(io.BytesIO(_jpeg(exif_gps=True))).info
    _open_as_customer(client, bag, photo=_jpeg(size=(4000, 3000), exif_gps=True))
    req = db.session.scalar(select(AfterSalesRequest))
    with Image.open(photos.photo_file(after_sales.PHOTO_KIND, req.photo_name)) as stored:
        stored.load()
    assert stored.format == "JPEG" and max(stored.size) == photos.PHOTO_MAX_EDGE
    assert not stored.getexif() and "exif" not in stored.info


def test_missing_items_need_no_photo_and_one_request_per_line_is_open(client, bag):
    assert _open_as_customer(client, bag, photo=False, reason="missing").status_code == 303
    again = _open_as_customer(client, bag, photo=False, reason="missing")
    assert again.status_code == 409
    assert _count(AfterSalesRequest) == 1


def test_after_sales_closes_after_the_configured_days(client, bag, app, frozen_clock):
    order = db.session.get(Order, bag.order.id)
    order.completed_at = frozen_clock.now - timedelta(days=app.config["AFTER_SALES_DAYS"], minutes=1)
    order.status = "completed"
    db.session.commit()
    assert 'data-testid="after-sales-form"' not in client.get(f"/o/{bag.order.access_token}").get_data(as_text=True)
    assert _open_as_customer(client, bag).status_code == 422
    assert _count(AfterSalesRequest) == 0


def test_unpaid_or_cancelled_orders_offer_no_after_sales(client, bag):
    order = db.session.get(Order, bag.order.id)
    order.status = "cancelled"
    db.session.commit()
    assert _open_as_customer(client, bag).status_code == 422
    assert _open_as_customer(client, bag).status_code == 422  # and a wrong token is a 404:
    assert client.post("/o/not-a-token/after-sales", data={}).status_code in (400, 404)


def test_leader_opens_a_request_from_the_order_and_sees_it_on_the_exceptions_page(client, login, bag):
    login(bag.leader.user)
    page = client.get(f"/leader/orders/{bag.order.id}").get_data(as_text=True)
    assert 'data-testid="after-sales-form"' in page
    response = client.post(
        f"/leader/orders/{bag.order.id}/after-sales",
        data={
            "csrf_token": csrf_from(page),
            "item_id": str(bag.order.items[1].id),
            "reason": "missing",
            "quantity": "1",
            "note": "",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    req = db.session.scalar(select(AfterSalesRequest))
    assert req.opened_by == f"user:{bag.leader.user.id}"
    exceptions = client.get("/leader/exceptions").get_data(as_text=True)
    assert f'data-testid="after-sales-{req.id}"' in exceptions and bag.order.number in exceptions
    assert 'data-testid="open-after-sales">1<' in client.get("/leader/").get_data(as_text=True)
    after_sales.decide("user:1", req, approve=False, refund_fen=None, note="不退")
    assert 'data-testid="open-after-sales">0<' in client.get("/leader/").get_data(as_text=True)


def test_requests_are_scoped_to_their_merchant_and_leader(client, login, bag, make_merchant, make_leader, app):
    _open_as_customer(client, bag)
    req = db.session.scalar(select(AfterSalesRequest))
    other_merchant = make_merchant()
    login(db.session.get(User, other_merchant.members[0].user_id))
    assert client.get(f"/merchant/after-sales/{req.id}").status_code == 404
    assert client.get(f"/merchant/after-sales/{req.id}/photo.jpg").status_code == 404
    assert f"after-sales-{req.id}" not in client.get("/merchant/after-sales").get_data(as_text=True)
    token = csrf_from(client.get("/merchant/after-sales").get_data(as_text=True))
    response = client.post(
        f"/merchant/after-sales/{req.id}/decide", data={"csrf_token": token, "action": "reject", "note": "no"}
    )
    assert response.status_code == 404
    login(make_leader().user)
    assert client.get(f"/leader/after-sales/{req.id}/photo.jpg").status_code == 404
    assert client.post(f"/leader/orders/{bag.order.id}/after-sales", data={"csrf_token": token}).status_code == 404
    db.session.expire_all()
    assert db.session.get(AfterSalesRequest, req.id).status == "open"


def test_after_sales_forms_without_csrf_are_refused(client, login, bag):
    response = client.post(f"/o/{bag.order.access_token}/after-sales", data={"reason": "missing"})
    assert response.status_code == 400
    assert _count(AfterSalesRequest) == 0


def test_two_merchants_deciding_at_once_refund_once(app, client, bag):
    from tests.support.threads import run_at_once

    _open_as_customer(client, bag)
    request_id = db.session.scalar(select(AfterSalesRequest.id))
    unit = bag.order.items[0].unit_price_fen

    def decide():
        req = db.session.get(AfterSalesRequest, request_id)
        return after_sales.decide("user:1", req, approve=True, refund_fen=unit, note="").status

    outcomes = run_at_once(app, decide)
    assert sorted(o if isinstance(o, str) else type(o).__name__ for o in outcomes) == ["AlreadyDecided", "approved"]
    assert _count(Refund) == 1
    assert db.session.get(Order, bag.order.id).refunded_fen == unit
