"""Merchant API over HTTP, windows: create, edit (partial; an open window only renamed or
extended), schedule / unschedule / open; bad input and wrong states change nothing; frozen prices."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Window
from tests.support.merchant import T0, make_order_row
from tests.support.merchant_api import (
    API,
    BAD_JSON,
    HUGE,
    LONG,
    NOT_JSON_OBJECT,
    bearer,
    draft_window,
    refusals,
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


def test_window_lifecycle_with_a_bearer_token(client, auth, owner, apple, make_product, make_leader, frozen_clock):
    pear = make_product(owner[1], name="梨")
    leader = make_leader()
    created = client.post(
        f"{API}/windows",
        json=window_body(apple, all_leaders=False, leader_ids=[leader.id]),
        headers=auth,
    )
    assert created.status_code == 201, created.get_json()
    window = created.get_json()
    assert window["status"] == "draft" and window["leader_ids"] == [leader.id] and window["has_orders"] is False
    assert window["opens_at"] == "2026-11-22T03:00:00Z" and window["pickup_date"] == "2026-11-24"
    (item,) = window["items"]
    assert (item["product_id"], item["group_price_fen"], item["sold"], item["quota"], item["status"]) == (
        apple.id,
        990,
        0,
        None,
        "open",
    )
    url = f"{API}/windows/{window['id']}"

    items = [{"product_id": pear.id, "group_price_fen": 500, "quota": 40, "per_customer_limit": 2, "min_group_size": 3}]
    patched = client.patch(url, json={"title": "梨子团", "items": items, "all_leaders": True}, headers=auth)
    assert patched.status_code == 200, patched.get_json()
    body = patched.get_json()
    assert body["title"] == "梨子团" and body["leader_ids"] == [] and body["all_leaders"] is True
    assert [(i["product_id"], i["quota"], i["per_customer_limit"], i["min_group_size"]) for i in body["items"]] == [
        (pear.id, 40, 2, 3)
    ]
    assert body["opens_at"] == window["opens_at"]

    assert client.post(f"{url}/schedule", headers=auth).get_json()["status"] == "scheduled"
    assert client.get(f"{API}/windows?status=scheduled", headers=auth).get_json()["total"] == 1
    assert client.get(f"{API}/windows?status=draft", headers=auth).get_json()["total"] == 0
    assert client.post(f"{url}/unschedule", headers=auth).get_json()["status"] == "draft"
    assert client.post(f"{url}/schedule", headers=auth).status_code == 200
    frozen_clock.advance(hours=2)
    assert client.post(f"{url}/open", headers=auth).get_json()["status"] == "open"

    amended = client.patch(url, json={"closes_at": "2026-11-23T21:30:00+08:00", "title": "延长"}, headers=auth)
    assert amended.status_code == 200, amended.get_json()
    assert (amended.get_json()["closes_at"], amended.get_json()["title"]) == ("2026-11-23T13:30:00Z", "延长")
    assert client.get(url, headers=auth).get_json() == amended.get_json()
    listed = client.get(f"{API}/windows", headers=auth).get_json()
    assert [w["id"] for w in listed["items"]] == [window["id"]] and "items" not in listed["items"][0]


def test_window_create_refuses_bad_input(client, auth, apple, make_product, make_merchant, make_leader):
    theirs = make_product(make_merchant())
    leader = make_leader()
    ok = window_body(apple)
    row = ok["items"][0]
    cases = [
        ({}, {"title", "opens_at", "closes_at", "pickup_date"}),
        ({**ok, "opens_at": "2026-11-22T11:00:00"}, {"opens_at"}),
        ({**ok, "closes_at": "2026-11-23 20:00"}, {"closes_at"}),
        ({**ok, "opens_at": "tomorrow"}, {"opens_at"}),
        ({**ok, "opens_at": 1_790_000_000}, {"opens_at"}),
        ({**ok, "opens_at": "0001-01-01T00:00:00+08:00"}, {"opens_at"}),
        ({**ok, "closes_at": "9999-12-31T23:59:59-12:00"}, {"closes_at"}),
        ({**ok, "closes_at": "2026-11-22T10:30:00+08:00"}, {"closes_at"}),
        ({**ok, "pickup_date": "2026-11-24T00:00:00"}, {"pickup_date"}),
        ({**ok, "pickup_date": "2026-11-20"}, {"pickup_date"}),
        ({**ok, "title": LONG}, {"title"}),
        ({**ok, "title": ""}, {"title"}),
        ({**ok, "items": [{**row, "group_price_fen": "9.90"}]}, {"items.0.group_price_fen"}),
        ({**ok, "items": [{**row, "group_price_fen": HUGE}]}, {"items.0.group_price_fen"}),
        ({**ok, "items": [{"product_id": apple.id}]}, {"items.0.group_price_fen"}),
        ({**ok, "items": [{**row, "product_id": str(apple.id)}]}, {"items.0.product_id"}),
        ({**ok, "items": [{**row, "product_id": HUGE}]}, {"items.0.product_id"}),
        ({**ok, "items": [{**row, "product_id": theirs.id}]}, {"items.0.product_id"}),
        ({**ok, "items": [row, {**row, "group_price_fen": 1}]}, {"items.1.product_id"}),
        (
            {**ok, "items": [{**row, "quota": 0, "per_customer_limit": HUGE}]},
            {"items.0.quota", "items.0.per_customer_limit"},
        ),
        ({**ok, "items": [{**row, "min_group_size": -1}]}, {"items.0.min_group_size"}),
        ({**ok, "items": [{**row, "discount": 5}]}, {"items.0.discount"}),
        ({**ok, "items": "苹果"}, {"items"}),
        ({**ok, "all_leaders": "no"}, {"all_leaders"}),
        ({**ok, "all_leaders": False}, {"leader_ids"}),
        ({**ok, "all_leaders": False, "leader_ids": [999_999]}, {"leader_ids"}),
        ({**ok, "all_leaders": False, "leader_ids": [str(leader.id)]}, {"leader_ids.0"}),
        ({**ok, "leader_ids": [leader.id]}, {"leader_ids"}),
        ({**ok, "status": "open"}, {"status"}),
        NOT_JSON_OBJECT,
        BAD_JSON,
    ]
    assert refusals(client, "POST", f"{API}/windows", cases, auth) == []


def test_window_patch_refuses_bad_input(client, auth, owner, apple, make_window):
    window = draft_window(make_window, owner[1], apple)
    cases = [
        ({"title": ""}, {"title"}),
        ({"title": None}, {"title"}),
        ({"closes_at": "2026-11-23T20:00"}, {"closes_at"}),
        ({"opens_at": "2026-11-24T20:00:00+08:00"}, {"closes_at"}),
        ({"pickup_date": "2026-11-20"}, {"pickup_date"}),
        ({"items": [{"product_id": apple.id, "group_price_fen": -1}]}, {"items.0.group_price_fen"}),
        ({"items": None}, {"items"}),
        ({"all_leaders": False}, {"leader_ids"}),
        ({"leader_ids": [1]}, {"leader_ids"}),
        ({"status": "open"}, {"status"}),
        NOT_JSON_OBJECT,
        BAD_JSON,
    ]
    assert refusals(client, "PATCH", f"{API}/windows/{window.id}", cases, auth) == []


def test_open_window_takes_only_a_new_title_and_a_later_cut_off(client, auth, owner, apple, make_window):
    window = make_window(
        owner[1], items=[{"product": apple}], opens_at=T0 - timedelta(hours=1), closes_at=T0 + timedelta(days=1)
    )
    item = {"product_id": apple.id, "group_price_fen": 1}
    cases = [
        ({"closes_at": "2026-11-22T20:00:00+08:00"}, {"closes_at"}),
        ({"closes_at": "2026-12-01T20:00:00+08:00"}, {"closes_at"}),
        ({"title": LONG}, {"title"}),
        ({"opens_at": "2026-11-22T09:00:00+08:00"}, (409, "invalid_transition")),
        ({"title": "新", "items": [item]}, (409, "prices_frozen")),
    ]
    assert refusals(client, "PATCH", f"{API}/windows/{window.id}", cases, auth) == []


def test_prices_are_frozen_once_an_order_exists(client, auth, owner, apple, make_window, make_leader):
    window = draft_window(make_window, owner[1], apple, status="scheduled")
    make_order_row(window, make_leader(), item=window.items[0])
    url = f"{API}/windows/{window.id}"
    cases = [
        ({"items": [{"product_id": apple.id, "group_price_fen": 1}]}, (409, "prices_frozen")),
        ({"items": []}, (409, "prices_frozen")),
    ]
    assert refusals(client, "PATCH", url, cases, auth) == []
    renamed = client.patch(url, json={"title": "改名"}, headers=auth)
    assert renamed.status_code == 200 and renamed.get_json()["has_orders"] is True


def test_state_actions_refuse_the_wrong_state(client, auth, owner, apple, make_window, make_product):
    empty = make_window(owner[1], status="draft", opens_at=T0 + timedelta(hours=1), closes_at=T0 + timedelta(days=1))
    late = draft_window(make_window, owner[1], apple)
    scheduled = draft_window(make_window, owner[1], make_product(owner[1]), status="scheduled")
    closed = draft_window(make_window, owner[1], make_product(owner[1]), status="closed")
    db.session.execute(
        Window.__table__.update()
        .where(Window.id == late.id)
        .values(closes_at=T0 - timedelta(minutes=1), opens_at=T0 - timedelta(hours=2))
    )
    db.session.commit()
    for url, expected in [
        (f"{API}/windows/{empty.id}/schedule", {"items"}),
        (f"{API}/windows/{late.id}/schedule", {"closes_at"}),
        (f"{API}/windows/{scheduled.id}/schedule", (409, "invalid_transition")),
        (f"{API}/windows/{late.id}/unschedule", (409, "invalid_transition")),
        (f"{API}/windows/{late.id}/open", (409, "invalid_transition")),
        (f"{API}/windows/{scheduled.id}/open", (409, "invalid_transition")),
        (f"{API}/windows/{closed.id}/unschedule", (409, "invalid_transition")),
    ]:
        assert refusals(client, "POST", url, [(None, expected)], auth) == [], url
    assert (
        refusals(client, "PATCH", f"{API}/windows/{closed.id}", [({"title": "x"}, (409, "invalid_transition"))], auth)
        == []
    )
