"""Editing windows: validation, create, update, frozen prices, amending an open window."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Window, WindowItem, WindowLeader
from app.services.core.errors import InvalidTransition, PricesFrozen, ValidationFailed
from app.services.windows import window_editing as editing
from app.services.windows import windows
from app.services.windows.window_editing import ItemInput
from tests.support.merchant import T0, make_order_row, window_at, window_input

# ---- create and validate


def test_create_window_is_a_draft_with_items_and_chosen_leaders(frozen_clock, make_merchant, make_product, make_leader):
    merchant = make_merchant()
    apple, pear = make_product(merchant), make_product(merchant)
    leader = make_leader()
    data = window_input([apple], all_leaders=False, leader_ids=[leader.id])
    data.items.append(
        ItemInput(product_id=pear.id, group_price_fen=1250, per_customer_limit=2, quota=100, min_group_size=5)
    )
    window = editing.create_window(merchant, data)
    assert window.status == "draft" and window.all_leaders is False
    rows = {(i.product_id, i.group_price_fen, i.per_customer_limit, i.quota, i.min_group_size) for i in window.items}
    assert rows == {(apple.id, 990, None, None, 1), (pear.id, 1250, 2, 100, 5)}
    assert windows.chosen_leader_ids(window) == [leader.id]


def test_pickup_date_is_compared_with_the_local_cut_off_date(frozen_clock, make_merchant):
    merchant = make_merchant()
    # 17:00 UTC on the 23rd is already 01:00 on the 24th in Shanghai.
    closes = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    with pytest.raises(ValidationFailed) as caught:
        editing.create_window(merchant, window_input(closes_at=closes, pickup_date=date(2026, 11, 23)))
    assert "pickup_date" in caught.value.fields
    editing.create_window(merchant, window_input(closes_at=closes, pickup_date=date(2026, 11, 24)))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "团" * 121}, "title"),
        ({"title": "a\x00b"}, "title"),
        ({"closes_at": T0 + timedelta(minutes=30)}, "closes_at"),  # before it opens
        ({"all_leaders": False, "leader_ids": []}, "leader_ids"),
        ({"all_leaders": False, "leader_ids": [999_999]}, "leader_ids"),
    ],
)
def test_bad_window_fields_are_refused_and_nothing_is_written(frozen_clock, make_merchant, overrides, field):
    with pytest.raises(ValidationFailed) as caught:
        editing.create_window(make_merchant(), window_input(**overrides))
    assert field in caught.value.fields
    assert db.session.scalar(select(Window.id)) is None


def test_bad_items_get_an_error_on_their_own_row(frozen_clock, make_merchant, make_product):
    merchant, other = make_merchant(), make_merchant()
    mine, unlisted, theirs = make_product(merchant), make_product(merchant, listed=False), make_product(other)
    items = [
        ItemInput(product_id=mine.id, group_price_fen=100, row=0),
        ItemInput(product_id=theirs.id, group_price_fen=100, row=1),
        ItemInput(product_id=unlisted.id, group_price_fen=100, row=2),
        ItemInput(product_id=mine.id, group_price_fen=-1, per_customer_limit=0, quota=0, min_group_size=0, row=4),
    ]
    with pytest.raises(ValidationFailed) as caught:
        editing.create_window(merchant, window_input(items=items))
    assert set(caught.value.fields) == {
        "items-1-product_id",
        "items-2-product_id",
        "items-4-product_id",
        "items-4-group_price",
        "items-4-per_customer_limit",
        "items-4-quota",
        "items-4-min_group_size",
    }
    assert db.session.scalar(select(WindowItem.id)) is None


def test_inactive_leader_cannot_be_chosen(frozen_clock, make_merchant, make_leader):
    leader = make_leader()
    leader.active = False
    db.session.commit()
    with pytest.raises(ValidationFailed):
        editing.create_window(make_merchant(), window_input(all_leaders=False, leader_ids=[leader.id]))


# ---- editing


def test_update_draft_replaces_items_and_leaders(frozen_clock, make_merchant, make_product, make_leader):
    merchant = make_merchant()
    apple, pear, plum = (make_product(merchant) for _ in range(3))
    first, second = make_leader(), make_leader()
    window = editing.create_window(merchant, window_input([apple, pear], all_leaders=False, leader_ids=[first.id]))
    data = window_input([pear, plum], title="改名了", all_leaders=False, leader_ids=[second.id])
    data.items[0].group_price_fen = 500
    editing.update_window(window, data)
    rows = db.session.execute(
        select(WindowItem.product_id, WindowItem.group_price_fen).where(WindowItem.window_id == window.id)
    ).all()
    assert sorted(rows) == sorted([(pear.id, 500), (plum.id, 990)])
    assert list(db.session.scalars(select(WindowLeader.leader_id))) == [second.id]
    assert db.session.get(Window, window.id).title == "改名了"


def test_scheduled_window_must_keep_a_future_cut_off(frozen_clock, make_merchant, make_product):
    merchant = make_merchant()
    product = make_product(merchant)
    window = editing.create_window(merchant, window_input([product]))
    windows.schedule_window(window)
    frozen_clock.advance(days=2)
    with pytest.raises(ValidationFailed) as caught:
        editing.update_window(window, window_input([product], pickup_date=date(2026, 11, 30)))
    assert "closes_at" in caught.value.fields


def test_prices_are_frozen_once_the_window_has_an_order(frozen_clock, make_merchant, make_product, make_leader):
    merchant = make_merchant()
    product = make_product(merchant)
    window = editing.create_window(merchant, window_input([product]))
    windows.schedule_window(window)
    make_order_row(window, make_leader(), item=window.items[0])

    changed = window_input([product])
    changed.items[0].group_price_fen = 1
    with pytest.raises(PricesFrozen):
        editing.update_window(window, changed)
    with pytest.raises(PricesFrozen):
        editing.update_window(window, window_input([]))  # dropping the item is a change too
    assert db.session.scalar(select(WindowItem.group_price_fen)) == 990
    # Leaving items alone still lets the title change.
    editing.update_window(window, window_input([product], title="新标题"))
    assert db.session.get(Window, window.id).title == "新标题"


def test_open_window_items_are_frozen_but_title_and_longer_cut_off_may_change(
    frozen_clock, make_merchant, make_product, make_leader, make_window
):
    merchant = make_merchant()
    product = make_product(merchant)
    window = window_at(
        make_window, merchant, product, status="open", opens=T0 - timedelta(hours=1), closes=T0 + timedelta(hours=5)
    )
    make_order_row(window, make_leader(), item=window.items[0])
    changed = window_input([product], opens_at=window.opens_at, closes_at=window.closes_at)
    with pytest.raises(PricesFrozen):
        editing.update_window(window, changed)

    with pytest.raises(ValidationFailed) as caught:
        editing.amend_open_window(window, title="x", closes_at=T0 + timedelta(hours=4))
    assert "closes_at" in caught.value.fields
    editing.amend_open_window(window, title="延长到明天", closes_at=T0 + timedelta(hours=20))
    stored = db.session.get(Window, window.id)
    assert (stored.title, stored.closes_at, stored.status) == ("延长到明天", T0 + timedelta(hours=20), "open")


def test_amend_is_refused_once_the_cut_off_has_passed(frozen_clock, make_merchant, make_product, make_window):
    merchant = make_merchant()
    window = window_at(
        make_window,
        merchant,
        make_product(merchant),
        status="open",
        opens=T0 - timedelta(hours=2),
        closes=T0 - timedelta(minutes=1),
    )
    with pytest.raises(ValidationFailed):
        editing.amend_open_window(window, title="x", closes_at=T0 - timedelta(minutes=1))
    with pytest.raises(InvalidTransition):
        editing.amend_open_window(window, title="x", closes_at=T0 + timedelta(hours=1))
    assert db.session.get(Window, window.id).closes_at == T0 - timedelta(minutes=1)
