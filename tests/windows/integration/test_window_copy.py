"""Copying a past window: a draft with the same items, prices, limits and leaders, moved to the
next hour with the same length and days to pickup; unlisted products are left out."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import AuditRecord, Window, WindowLeader
from tests.support.forms import csrf_from


def test_a_closed_window_is_copied_into_a_draft_that_can_be_scheduled(
    client, login, make_user, make_merchant, make_product, make_window, make_leader, frozen_clock
):
    owner = make_user("老板")
    merchant = make_merchant(owner=owner)
    kept = make_product(merchant, name="赣南脐橙")
    gone = make_product(merchant, name="下架了", listed=False)
    leader = make_leader("阳光小区")
    source = make_window(
        merchant,
        status="closed",
        title="周末水果团",
        leaders=[leader],
        items=[{"product": kept, "price_fen": 880, "limit": 3, "min_group": 5}, {"product": gone}],
        opens_at=frozen_clock.now - timedelta(days=7),
        closes_at=frozen_clock.now - timedelta(days=6),
    )
    source.pickup_date = date(2026, 11, 17)  # one day after the (local) cut-off day
    db.session.commit()
    login(owner)
    page = client.get(f"/merchant/windows/{source.id}").get_data(as_text=True)
    response = client.post(f"/merchant/windows/{source.id}/copy", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 303
    copy = db.session.scalar(select(Window).where(Window.id != source.id))
    assert (copy.status, copy.title, copy.all_leaders) == ("draft", "周末水果团 (copy)", False)
    assert copy.opens_at == frozen_clock.now.replace(minute=0) + timedelta(hours=1)
    assert copy.closes_at - copy.opens_at == timedelta(days=1)
    assert copy.pickup_date == (copy.closes_at + timedelta(hours=8)).date() + timedelta(days=1)
    [item] = copy.items
    assert (item.product_id, item.group_price_fen, item.per_customer_limit, item.min_group_size) == (kept.id, 880, 3, 5)
    assert db.session.scalars(select(WindowLeader.leader_id).where(WindowLeader.window_id == copy.id)).all() == [
        leader.id
    ]
    assert db.session.scalar(select(AuditRecord).where(AuditRecord.action == "window.copied")).detail == {
        "source_window_id": source.id
    }
    page = client.get(f"/merchant/windows/{copy.id}").get_data(as_text=True)
    assert client.post(f"/merchant/windows/{copy.id}/schedule", data={"csrf_token": csrf_from(page)}).status_code in (
        302,
        303,
    )
    assert db.session.get(Window, copy.id, populate_existing=True).status == "scheduled"


def test_another_merchants_window_cannot_be_copied(client, login, make_user, make_merchant, make_window):
    theirs = make_window(make_merchant("别家"))
    owner = make_user("老板")
    make_merchant(owner=owner)
    login(owner)
    token = csrf_from(client.get("/merchant/").get_data(as_text=True))
    assert client.post(f"/merchant/windows/{theirs.id}/copy", data={"csrf_token": token}).status_code == 404
    assert db.session.scalar(select(Window).where(Window.id != theirs.id)) is None
