"""Merchant window pages over HTTP: item rows without JavaScript, leader choice, the state
actions and the job, frozen prices, tenancy, and the detail page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import DeliveryBatch, Window, WindowItem, WindowLeader
from app.services.windows.windows import open_due_windows
from tests.support.forms import csrf_from
from tests.support.merchant import T0, make_order_row


@pytest.fixture
def owner(make_user, make_merchant):
    user = make_user("老板")
    return user, make_merchant(owner=user)


@pytest.fixture
def merchant_client(client, login, owner, frozen_clock):
    login(owner[0])
    return client


def _token(client):
    return csrf_from(client.get("/merchant/windows/new").get_data(as_text=True))


def form_data(client, rows=(), **overrides):
    """A window form as a browser posts it: times in Shanghai local time, rows as items-N-*."""
    data = {
        "csrf_token": _token(client),
        "title": "周末水果团",
        "opens_at": "2026-11-22T11:00",
        "closes_at": "2026-11-23T20:00",
        "pickup_date": "2026-11-24",
        "leader_mode": "all",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"items-{index}-{key}"] = value
    data.update(overrides)
    return data


def _row(product, price="9.90", **extra):
    return {"product_id": str(product.id), "group_price": price, "min_group_size": "1", **extra}


def _windows():
    return db.session.scalar(select(func.count(Window.id)))


def test_create_window_with_rows_and_blank_rows_ignored(merchant_client, owner, make_product):
    apple, pear = make_product(owner[1], name="苹果"), make_product(owner[1], name="梨")
    rows = [
        _row(apple, "9.9", per_customer_limit="2", quota="100"),
        {"product_id": "", "group_price": "garbage", "quota": "-1"},  # blank row: ignored
        _row(pear, "5", min_group_size="10"),
    ]
    response = merchant_client.post("/merchant/windows/new", data=form_data(merchant_client, rows))
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    window = db.session.scalar(select(Window))
    assert window.status == "draft" and window.merchant_id == owner[1].id
    # 11:00 in Shanghai is 03:00 UTC.
    assert window.opens_at == datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    items = {(i.product_id, i.group_price_fen, i.per_customer_limit, i.quota, i.min_group_size) for i in window.items}
    assert items == {(apple.id, 990, 2, 100, 1), (pear.id, 500, None, None, 10)}
    detail = merchant_client.get(response.headers["Location"]).get_data(as_text=True)
    assert detail.count('data-testid="window-item"') == 2 and "¥9.90" in detail


def test_add_rows_posts_back_more_rows_and_saves_nothing(merchant_client, owner, make_product):
    apple = make_product(owner[1])
    data = form_data(merchant_client, [_row(apple)], add_rows="1")
    response = merchant_client.post("/merchant/windows/new", data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count('data-testid="item-row"') == 4
    assert f'<option value="{apple.id}" selected>' in html
    assert _windows() == 0


BAD_WINDOW_INPUT = [
    ({"title": ""}, {}, "title"),
    ({"title": "团" * 121}, {}, "title"),
    ({"opens_at": "tomorrow"}, {}, "opens_at"),
    ({"opens_at": "0001-01-01T00:00"}, {}, "opens_at"),
    ({"closes_at": "2026-11-22T10:30"}, {}, "closes_at"),
    ({"pickup_date": "2026-11-22"}, {}, "pickup_date"),
    ({"leader_mode": "chosen"}, {}, "leader_ids"),
    ({"leader_ids": "abc", "leader_mode": "chosen"}, {}, "leader_ids"),
    ({}, {"group_price": "1.234"}, "items-0-group_price"),
    ({}, {"group_price": ""}, "items-0-group_price"),
    ({}, {"group_price": "-2"}, "items-0-group_price"),
    ({}, {"quota": "0"}, "items-0-quota"),
    ({}, {"per_customer_limit": "-1"}, "items-0-per_customer_limit"),
    ({}, {"min_group_size": "0"}, "items-0-min_group_size"),
    ({}, {"product_id": "abc"}, "items-0-product_id"),
]


def test_bad_window_input_shows_field_errors_and_writes_nothing(merchant_client, owner, make_product, make_leader):
    apple = make_product(owner[1])
    make_leader()  # so the leader checkboxes render
    failures = []
    for overrides, row_overrides, field_id in BAD_WINDOW_INPUT:
        data = form_data(merchant_client, [{**_row(apple), **row_overrides}], **overrides)
        response = merchant_client.post("/merchant/windows/new", data=data)
        html = response.get_data(as_text=True)
        if response.status_code != 422 or f'id="{field_id}"' not in html or 'class="error"' not in html:
            failures.append((field_id, overrides, row_overrides, response.status_code))
    assert failures == []
    assert _windows() == 0 and db.session.scalar(select(func.count(WindowItem.id))) == 0


def test_another_merchants_or_unlisted_product_in_a_row_is_a_row_error(merchant_client, owner, make_product):
    theirs = make_product()
    unlisted = make_product(owner[1], listed=False)
    response = merchant_client.post(
        "/merchant/windows/new", data=form_data(merchant_client, [_row(theirs), _row(unlisted)])
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.count('role="alert"') >= 2
    assert _windows() == 0


def test_chosen_leaders_are_saved_and_shown(merchant_client, owner, make_product, make_leader):
    apple = make_product(owner[1])
    chosen, _other = make_leader("阳光花园"), make_leader("幸福里")
    data = form_data(merchant_client, [_row(apple)], leader_mode="chosen", leader_ids=str(chosen.id))
    response = merchant_client.post("/merchant/windows/new", data=data)
    assert response.status_code == 302
    assert list(db.session.scalars(select(WindowLeader.leader_id))) == [chosen.id]
    detail = merchant_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "阳光花园" in detail and "幸福里" not in detail


def test_another_merchants_window_is_not_found(merchant_client, make_window):
    theirs = make_window(status="draft")
    token = _token(merchant_client)
    base = f"/merchant/windows/{theirs.id}"
    assert merchant_client.get(base).status_code == 404
    assert merchant_client.get(base + "/edit").status_code == 404
    assert merchant_client.post(base + "/edit", data=form_data(merchant_client)).status_code == 404
    for action in ("schedule", "unschedule", "open"):
        assert merchant_client.post(f"{base}/{action}", data={"csrf_token": token}).status_code == 404
    db.session.expire_all()
    assert theirs.status == "draft"


def test_schedule_then_the_job_opens_it(merchant_client, owner, make_product, frozen_clock):
    apple = make_product(owner[1])
    created = merchant_client.post("/merchant/windows/new", data=form_data(merchant_client, [_row(apple)]))
    detail_url = created.headers["Location"]
    token = _token(merchant_client)
    response = merchant_client.post(detail_url + "/schedule", data={"csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200 and 'data-status="scheduled"' in response.get_data(as_text=True)

    assert open_due_windows() == 0  # opens at 11:00 local, it is 10:00
    frozen_clock.advance(hours=1)
    assert open_due_windows() == 1
    assert open_due_windows() == 0
    assert 'data-status="open"' in merchant_client.get(detail_url).get_data(as_text=True)


def test_schedule_without_items_explains_why(merchant_client, owner):
    created = merchant_client.post("/merchant/windows/new", data=form_data(merchant_client))
    response = merchant_client.post(
        created.headers["Location"] + "/schedule", data={"csrf_token": _token(merchant_client)}, follow_redirects=True
    )
    assert "ui-toast--error" in response.get_data(as_text=True)
    assert db.session.scalar(select(Window.status)) == "draft"


def test_open_now_and_unschedule_buttons(merchant_client, owner, make_product, make_window):
    apple = make_product(owner[1])
    window = make_window(
        owner[1],
        items=[{"product": apple}],
        status="scheduled",
        opens_at=T0 - timedelta(minutes=5),
        closes_at=T0 + timedelta(hours=4),
    )
    url = f"/merchant/windows/{window.id}"
    token = _token(merchant_client)
    assert "/unschedule" in merchant_client.get(url).get_data(as_text=True)
    merchant_client.post(url + "/unschedule", data={"csrf_token": token})
    db.session.expire_all()
    assert window.status == "draft"
    window.status = "scheduled"
    db.session.commit()
    merchant_client.post(url + "/open", data={"csrf_token": token})
    db.session.expire_all()
    assert window.status == "open"


def test_editing_prices_after_an_order_is_refused(merchant_client, owner, make_product, make_window, make_leader):
    apple = make_product(owner[1])
    window = make_window(
        owner[1],
        items=[{"product": apple, "price_fen": 990}],
        status="scheduled",
        opens_at=T0 + timedelta(hours=1),
        closes_at=T0 + timedelta(days=1),
    )
    make_order_row(window, make_leader(), item=window.items[0])
    url = f"/merchant/windows/{window.id}/edit"
    response = merchant_client.post(url, data=form_data(merchant_client, [_row(apple, "1.00")]))
    assert response.status_code == 409
    assert "flash-error" in response.get_data(as_text=True)
    assert db.session.scalar(select(WindowItem.group_price_fen)) == 990


def test_open_window_edit_offers_title_and_extension_only(merchant_client, owner, make_product, make_window):
    apple = make_product(owner[1])
    window = make_window(
        owner[1],
        items=[{"product": apple}],
        status="open",
        opens_at=T0 - timedelta(hours=1),
        closes_at=T0 + timedelta(hours=2),
    )
    url = f"/merchant/windows/{window.id}/edit"
    page = merchant_client.get(url).get_data(as_text=True)
    assert 'name="closes_at"' in page and "items-0-product_id" not in page
    token = csrf_from(page)
    shorter = merchant_client.post(url, data={"csrf_token": token, "title": "x", "closes_at": "2026-11-22T10:30"})
    assert shorter.status_code == 422
    longer = merchant_client.post(url, data={"csrf_token": token, "title": "延长", "closes_at": "2026-11-22T20:00"})
    assert longer.status_code == 302
    db.session.expire_all()
    assert (window.title, window.closes_at) == ("延长", datetime(2026, 11, 22, 12, 0, tzinfo=UTC))


def test_edit_draft_removes_a_row_and_changes_a_price(merchant_client, owner, make_product, make_window):
    apple, pear = make_product(owner[1]), make_product(owner[1])
    window = make_window(
        owner[1],
        items=[{"product": apple}, {"product": pear}],
        status="draft",
        opens_at=T0 + timedelta(hours=1),
        closes_at=T0 + timedelta(days=1),
    )
    url = f"/merchant/windows/{window.id}/edit"
    page = merchant_client.get(url).get_data(as_text=True)
    assert f'<option value="{pear.id}" selected>' in page
    rows = [_row(apple, "7.00"), _row(pear, remove="y")]
    response = merchant_client.post(url, data=form_data(merchant_client, rows))
    assert response.status_code == 302
    rows = db.session.execute(select(WindowItem.product_id, WindowItem.group_price_fen)).all()
    assert rows == [(apple.id, 700)]


def test_detail_lists_batches_and_share_links(
    merchant_client, owner, make_product, make_window, make_point, make_share_link
):
    window = make_window(owner[1], items=[{"product": make_product(owner[1])}], status="closed")
    point = make_point(name="阳光自提点")
    batch = DeliveryBatch(window_id=window.id, merchant_id=owner[1].id, pickup_point_id=point.id, status="picking")
    db.session.add(batch)
    db.session.commit()
    make_share_link(window, point.leader, slug="abc123")
    html = merchant_client.get(f"/merchant/windows/{window.id}").get_data(as_text=True)
    assert f'href="/merchant/batches/{batch.id}"' in html and "阳光自提点" in html
    assert 'data-status="picking"' in html and "abc123" in html
    assert "/edit" not in html.split("<h1>")[1].split("</section>")[0]  # closed: no edit button


def test_window_list_filters_by_status(merchant_client, owner, make_window):
    make_window(owner[1], status="draft", title="草稿团")
    make_window(owner[1], status="open", title="进行中")
    html = merchant_client.get("/merchant/windows?status=open").get_data(as_text=True)
    assert "进行中" in html and "草稿团" not in html
    assert merchant_client.get("/merchant/windows?status=<x>&page=-1").status_code == 200
