"""Per-leader quotas over HTTP: the merchant sets and removes them on the window's quota page
(bad input gets field errors and writes nothing; other merchants' windows are 404; CSRF is
checked; staff need the windows area), and the shop and the API refuse past a leader's share."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditRecord, MerchantMember, Order, WindowItem, WindowLeaderQuota
from app.services.orders import ordering
from app.services.windows import leader_quotas
from tests.support.forms import csrf_from
from tests.support.merchant_api import bearer
from tests.support.shop import ShopBuilder


@pytest.fixture
def shop(make_product, make_window, make_leader, make_point, make_share_link):
    return ShopBuilder(make_product, make_window, make_leader, make_point, make_share_link)


@pytest.fixture
def scene(shop, signed_in_owner):
    """The signed-in owner's open window with one item, sold through one leader's link."""
    _user, merchant = signed_in_owner
    return shop(stock=100, merchant=merchant)


def _url(s, tail=""):
    return f"/merchant/windows/{s.window.id}/quotas{tail}"


def _post(client, s, tail, data, *, token=True):
    page = client.get(_url(s)).get_data(as_text=True)
    body = {**data, "csrf_token": csrf_from(page)} if token else dict(data)
    return client.post(_url(s, tail), data=body)


def _rows():
    db.session.expire_all()
    return db.session.execute(
        select(WindowLeaderQuota.window_item_id, WindowLeaderQuota.leader_id, WindowLeaderQuota.quota)
    ).all()


def _has_field_error(html: str, name: str) -> bool:
    """The field's block is marked and carries an error message."""
    match = re.search(rf'<div class="field has-error">\s*<label for="{name}">.*?</div>', html, re.S)
    return bool(match) and 'class="error" role="alert"' in match.group(0)


def _default(item_id):
    db.session.expire_all()
    return db.session.get(WindowItem, item_id).per_leader_quota


# ---- the merchant's page


def test_merchant_sets_lists_and_removes_a_leader_quota(client, scene):
    s = scene
    page = client.get(f"/merchant/windows/{s.window.id}").get_data(as_text=True)
    assert 'data-testid="quotas-link"' in page
    response = _post(client, s, "", {"leader_id": s.leader.id, "window_item_id": s.item.id, "quota": "30"})
    assert response.status_code == 303
    assert _rows() == [(s.item.id, s.leader.id, 30)]
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert html.count('data-testid="leader-quota"') == 1 and s.leader.community_name in html and "0 / 30" in html
    row_id = db.session.scalar(select(WindowLeaderQuota.id))
    response = _post(client, s, f"/{row_id}/remove", {})
    assert response.status_code == 303
    assert _rows() == []
    actions = db.session.scalars(select(AuditRecord.action).order_by(AuditRecord.id)).all()
    assert actions[-2:] == ["window.leader_quota", "window.leader_quota_removed"]


def test_merchant_sets_and_clears_the_cap_for_every_leader(client, scene):
    s = scene
    response = _post(client, s, "/default", {"window_item_id": s.item.id, "per_leader_quota": "12"})
    assert response.status_code == 303
    assert _default(s.item.id) == 12
    detail = client.get(f"/merchant/windows/{s.window.id}").get_data(as_text=True)
    assert "Each leader at most 12" in detail
    assert _post(client, s, "/default", {"window_item_id": s.item.id, "per_leader_quota": ""}).status_code == 303
    assert _default(s.item.id) is None


@pytest.mark.parametrize(
    ("data", "field_name"),
    [
        ({"leader_id": "abc"}, "leader_id"),
        ({"leader_id": ""}, "leader_id"),
        ({"leader_id": "99999999999999999999999"}, "leader_id"),
        ({"window_item_id": "0"}, "window_item_id"),
        ({"window_item_id": "<script>alert(1)</script>"}, "window_item_id"),
        ({"quota": ""}, "quota"),
        ({"quota": "-1"}, "quota"),
        ({"quota": "1.5"}, "quota"),
        ({"quota": "1000001"}, "quota"),
        ({"quota": "9" * 40}, "quota"),
        ({"quota": "<script>alert(1)</script>"}, "quota"),
    ],
)
def test_bad_leader_quota_input_gets_a_field_error_and_writes_nothing(client, scene, data, field_name):
    s = scene
    body = {"leader_id": str(s.leader.id), "window_item_id": str(s.item.id), "quota": "30", **data}
    response = _post(client, s, "", body)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<script>alert(1)</script>" not in html
    assert _has_field_error(html, field_name)
    assert _rows() == []


def test_missing_fields_are_field_errors(client, scene):
    response = _post(client, scene, "", {})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert all(_has_field_error(html, name) for name in ("leader_id", "window_item_id", "quota"))
    assert _rows() == []


def test_another_windows_item_or_a_leader_who_may_not_sell_it_is_refused(
    client, scene, shop, make_leader, make_window, make_product
):
    s = scene
    other_item = make_window(s.merchant, items=[{"product": make_product(s.merchant)}]).items[0]
    chosen_only = shop(merchant=s.merchant, chosen_only=True)  # only its own leader may sell it
    for target, body in (
        (s, {"leader_id": s.leader.id, "window_item_id": other_item.id, "quota": "5"}),
        (chosen_only, {"leader_id": make_leader().id, "window_item_id": chosen_only.item.id, "quota": "5"}),
    ):
        response = _post(client, target, "", body)
        assert response.status_code == 422
    assert _rows() == []


@pytest.mark.parametrize(
    "data",
    [
        {"per_leader_quota": "-5"},
        {"per_leader_quota": "abc"},
        {"per_leader_quota": "1" * 30},
        {"window_item_id": "abc"},
        {"window_item_id": ""},
        {"window_item_id": "424242"},
    ],
)
def test_bad_default_input_is_refused_and_writes_nothing(client, scene, data):
    s = scene
    response = _post(client, s, "/default", {"window_item_id": str(s.item.id), "per_leader_quota": "12", **data})
    assert response.status_code == 422
    assert 'role="alert"' in response.get_data(as_text=True)
    assert _default(s.item.id) is None and _rows() == []


def test_lowering_below_what_a_leader_sold_is_refused_with_a_clear_error(client, scene):
    s = scene
    ordering.place_order(s.slug, **s.order_args(6))
    response = _post(client, s, "", {"leader_id": s.leader.id, "window_item_id": s.item.id, "quota": "5"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "already sold 6" in html
    response = _post(client, s, "/default", {"window_item_id": s.item.id, "per_leader_quota": "5"})
    assert response.status_code == 422 and "already sold 6" in response.get_data(as_text=True)
    assert _rows() == [] and _default(s.item.id) is None


def test_quotas_need_the_csrf_token(client, scene):
    s = scene
    response = _post(client, s, "", {"leader_id": s.leader.id, "window_item_id": s.item.id, "quota": "5"}, token=False)
    assert response.status_code == 400
    response = _post(client, s, "/default", {"window_item_id": s.item.id, "per_leader_quota": "5"}, token=False)
    assert response.status_code == 400
    assert _rows() == [] and _default(s.item.id) is None


def test_another_merchants_window_and_quota_are_not_found(client, scene, shop, make_merchant):
    s = scene
    theirs = shop(merchant=make_merchant("别家"))
    row = leader_quotas.set_leader_quota(theirs.window, theirs.item.id, theirs.leader.id, 7, actor="test")
    token = csrf_from(client.get(_url(s)).get_data(as_text=True))
    assert client.get(_url(theirs)).status_code == 404
    for tail, body in (
        ("", {"leader_id": theirs.leader.id, "window_item_id": theirs.item.id, "quota": "1"}),
        ("/default", {"window_item_id": theirs.item.id, "per_leader_quota": "1"}),
        (f"/{row.id}/remove", {}),
    ):
        assert client.post(_url(theirs, tail), data={**body, "csrf_token": token}).status_code == 404
    # Their quota's id through my own window is just as unknown.
    assert client.post(_url(s, f"/{row.id}/remove"), data={"csrf_token": token}).status_code == 404
    assert _rows() == [(theirs.item.id, theirs.leader.id, 7)]
    assert _default(theirs.item.id) is None


def test_quotas_of_a_closed_window_are_shown_but_cannot_change(client, shop, signed_in_owner):
    s = shop(merchant=signed_in_owner[1], status="closed")
    html = client.get(_url(s)).get_data(as_text=True)
    assert 'data-testid="quotas-frozen"' in html and 'data-testid="leader-quota-form"' not in html
    token = csrf_from(html)
    response = client.post(
        _url(s), data={"leader_id": s.leader.id, "window_item_id": s.item.id, "quota": "3", "csrf_token": token}
    )
    assert response.status_code == 409
    assert "before the group buy closes" in response.get_data(as_text=True)
    assert _rows() == []


@pytest.mark.parametrize(("areas", "status"), [(["products"], 403), (["windows"], 200)])
def test_staff_need_the_windows_area(client, login, make_user, shop, make_merchant, areas, status):
    merchant = make_merchant()
    s = shop(merchant=merchant)
    staff = make_user("店员")
    db.session.add(MerchantMember(merchant_id=merchant.id, user_id=staff.id, role="staff", areas=areas))
    db.session.commit()
    login(staff)
    assert client.get(_url(s)).status_code == status


# ---- customers


def test_shop_shows_what_is_left_for_the_community_and_refuses_past_it(client, scene):
    s = scene
    leader_quotas.set_item_default(s.window, s.item.id, 3, actor="test")
    ordering.place_order(s.slug, **s.order_args(1))
    html = client.get(f"/s/{s.slug}").get_data(as_text=True)
    assert 'data-testid="leader-remaining"' in html and "2 left for this community" in html
    assert 'max="2"' in html
    token = csrf_from(html)
    response = client.post(
        f"/s/{s.slug}",
        data={
            f"qty-{s.item.id}": "3",
            "pickup_point_id": str(s.point.id),
            "customer_name": "李四",
            "customer_phone": "13900139000",
            "payment_provider": "simulator",
            "csrf_token": token,
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert 'data-testid="order-error"' in html and "Only 2 of" in html and "left for this community" in html
    assert db.session.scalar(select(Order.id).where(Order.customer_phone == "13900139000")) is None


def test_api_refuses_past_the_leader_quota_with_its_code(client, scene):
    s = scene
    leader_quotas.set_item_default(s.window, s.item.id, 2, actor="test")
    body = {
        "items": [{"window_item_id": s.item.id, "quantity": 3}],
        "pickup_point_id": s.point.id,
        "customer_name": "王五",
        "customer_phone": "13700137000",
        "payment_provider": "simulator",
    }
    response = client.post(f"/api/v1/shop/{s.slug}/orders", json=body)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert (error["code"], error["remaining"]) == ("leader_quota_reached", 2)
    assert "left for this community" in error["message"]


def test_merchant_api_shows_the_cap_for_every_leader(client, scene, signed_in_owner):
    s = scene
    leader_quotas.set_item_default(s.window, s.item.id, 9, actor="test")
    response = client.get(f"/api/v1/merchant/windows/{s.window.id}", headers=bearer(signed_in_owner[0]))
    assert response.status_code == 200
    assert response.get_json()["items"][0]["per_leader_quota"] == 9
