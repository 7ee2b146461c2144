"""The merchant's team: the owner invites staff with areas, the invitee joins from the link once,
areas are enforced page by page, the owner changes or removes them; bad input changes nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditRecord, MerchantInvitation, MerchantMember, User
from app.services.accounts import merchant_team
from tests.conftest import PASSWORD
from tests.support.forms import csrf_from
from tests.support.platform import isolated_client
from tests.support.threads import run_at_once


@pytest.fixture
def shop(make_merchant, make_user):
    owner = make_user("王老板", phone="13800000301")
    merchant = make_merchant("鲜果坊", owner=owner)
    return merchant, owner


def _owner_member(merchant):
    return db.session.scalar(
        select(MerchantMember).where(MerchantMember.merchant_id == merchant.id, MerchantMember.role == "owner")
    )


def _invite(client, **form):
    token = csrf_from(client.get("/merchant/team").get_data(as_text=True))
    data = {"name": "小李", "phone": "13900000401", "areas": ["products", "after_sales"], **form}
    return client.post("/merchant/team/invite", data={**data, "csrf_token": token})


def _link_path(response) -> str:
    html = response.get_data(as_text=True)
    return re.search(r'value="https?://[^/"]+(/join/[\w-]+)"', html).group(1)


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_an_invited_person_joins_with_a_password_and_gets_exactly_their_areas(app, client, login, shop):
    merchant, owner = shop
    login(owner)
    response = _invite(client)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    path = _link_path(response)
    assert path not in client.get("/merchant/team").get_data(as_text=True)  # shown once

    newcomer = isolated_client(app)
    page = newcomer.get(path).get_data(as_text=True)
    assert "鲜果坊" in page and "139****0401" in page and "13900000401" not in page
    response = newcomer.post(
        path, data={"csrf_token": csrf_from(page), "password": "s3cret-pass", "password_again": "s3cret-pass"}
    )
    assert response.status_code == 303
    user = db.session.scalar(select(User).where(User.phone == "13900000401"))
    member = db.session.scalar(select(MerchantMember).where(MerchantMember.user_id == user.id))
    assert (member.merchant_id, member.role, member.areas) == (merchant.id, "staff", ["products", "after_sales"])
    home = newcomer.get("/merchant/").get_data(as_text=True)
    assert "/merchant/products" in home and "/merchant/windows" not in home and "/merchant/team" not in home
    assert newcomer.get("/merchant/products").status_code == 200
    assert newcomer.get("/merchant/windows").status_code == 403
    assert newcomer.get("/merchant/team").status_code == 403
    assert newcomer.get(path).status_code == 409  # used once
    assert {"team.invited", "team.joined"} <= set(db.session.scalars(select(AuditRecord.action)))


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "13800000301"}, "phone"),  # the owner: already in a team
        ({"areas": []}, "areas"),
        ({"areas": ["products", "root"]}, "areas"),
        ({"name": ""}, "name"),
        ({"name": "x" * 41}, "name"),
        ({"name": "小李\x07"}, "name"),
    ],
)
def test_bad_invitations_are_refused_by_field_and_write_nothing(client, login, shop, form, field):
    _merchant, owner = shop
    login(owner)
    response = _invite(client, **form)
    assert response.status_code == 422 and 'role="alert"' in response.get_data(as_text=True)
    assert _count(MerchantInvitation) == 0


def test_a_bad_password_keeps_the_link_usable(app, client, login, shop):
    _merchant, owner = shop
    login(owner)
    path = _link_path(_invite(client))
    newcomer = isolated_client(app)
    token = csrf_from(newcomer.get(path).get_data(as_text=True))
    for password, again in (("short", "short"), ("long-enough-1", "different-2"), ("x" * 129, "x" * 129)):
        response = newcomer.post(path, data={"csrf_token": token, "password": password, "password_again": again})
        assert response.status_code == 422
    assert _count(MerchantMember, MerchantMember.role == "staff") == 0
    assert db.session.scalar(select(MerchantInvitation.accepted_at)) is None
    response = newcomer.post(
        path, data={"csrf_token": token, "password": "long-enough-1", "password_again": "long-enough-1"}
    )
    assert response.status_code == 303


def test_withdrawn_expired_and_unknown_links_are_refused(app, client, login, shop, frozen_clock):
    merchant, owner = shop
    login(owner)
    first = _link_path(_invite(client))
    second = _link_path(_invite(client, phone="13900000402"))
    invitation = db.session.scalar(select(MerchantInvitation).where(MerchantInvitation.phone == "13900000401"))
    token = csrf_from(client.get("/merchant/team").get_data(as_text=True))
    assert (
        client.post(f"/merchant/team/invitations/{invitation.id}/revoke", data={"csrf_token": token}).status_code == 302
    )
    anyone = isolated_client(app)
    assert anyone.get(first).status_code == 409
    frozen_clock.advance(days=merchant_team.INVITE_DAYS, seconds=1)
    assert anyone.get(second).status_code == 409
    assert anyone.get("/join/not-a-real-token").status_code == 404
    assert anyone.get("/join/" + "x" * 200).status_code == 404


def test_a_number_with_an_account_signs_in_as_it_to_join(app, client, login, shop, make_user):
    _merchant, owner = shop
    existing = make_user("小李", phone="13900000401")
    login(owner)
    path = _link_path(_invite(client))
    stranger = isolated_client(app)
    login(make_user("别人"), c=stranger)
    page = stranger.get(path).get_data(as_text=True)
    assert stranger.post(path, data={"csrf_token": csrf_from(page)}).status_code == 422
    invitee = isolated_client(app)
    login(existing, c=invitee)
    page = invitee.get(path).get_data(as_text=True)
    assert invitee.post(path, data={"csrf_token": csrf_from(page)}).status_code == 303
    member = db.session.scalar(select(MerchantMember).where(MerchantMember.user_id == existing.id))
    assert member.areas == ["products", "after_sales"]
    assert db.session.get(User, existing.id, populate_existing=True).name == "小李"


def test_the_owner_changes_areas_and_removes_staff_but_not_the_owner(app, client, login, shop, make_user):
    merchant, owner = shop
    staff = make_user("小张")
    db.session.add(MerchantMember(merchant_id=merchant.id, user_id=staff.id, role="staff", areas=["products"]))
    db.session.commit()
    member_id = db.session.scalar(select(MerchantMember.id).where(MerchantMember.user_id == staff.id))
    staff_client = isolated_client(app)
    login(staff, c=staff_client)
    assert staff_client.get("/merchant/batches").status_code == 403

    login(owner)
    token = csrf_from(client.get("/merchant/team").get_data(as_text=True))
    client.post(f"/merchant/team/members/{member_id}/areas", data={"csrf_token": token, "areas": ["batches"]})
    assert staff_client.get("/merchant/batches").status_code == 200
    assert staff_client.get("/merchant/products").status_code == 403
    refused = client.post(f"/merchant/team/members/{member_id}/areas", data={"csrf_token": token, "areas": ["x"]})
    assert refused.status_code == 302
    assert db.session.get(MerchantMember, member_id, populate_existing=True).areas == ["batches"]
    owner_id = _owner_member(merchant).id
    client.post(f"/merchant/team/members/{owner_id}/remove", data={"csrf_token": token})
    assert db.session.get(MerchantMember, owner_id, populate_existing=True) is not None
    client.post(f"/merchant/team/members/{member_id}/remove", data={"csrf_token": token})
    assert staff_client.get("/merchant/").status_code == 403


def test_another_merchants_owner_cannot_touch_this_team(app, client, login, shop, make_merchant, make_user):
    merchant, _owner = shop
    staff = make_user("小张")
    db.session.add(MerchantMember(merchant_id=merchant.id, user_id=staff.id, role="staff", areas=["products"]))
    db.session.commit()
    member_id = db.session.scalar(select(MerchantMember.id).where(MerchantMember.user_id == staff.id))
    rival = make_user("对手老板")
    make_merchant("别家", owner=rival)
    login(rival)
    token = csrf_from(client.get("/merchant/team").get_data(as_text=True))
    for url in (f"/merchant/team/members/{member_id}/areas", f"/merchant/team/members/{member_id}/remove"):
        assert client.post(url, data={"csrf_token": token, "areas": ["finance"]}).status_code == 404
    assert db.session.get(MerchantMember, member_id, populate_existing=True).areas == ["products"]


def test_two_people_opening_the_same_link_at_once_make_one_member(app, shop):
    merchant, owner = shop
    _invitation, token = merchant_team.invite(
        _owner_member(merchant), owner, name="小李", phone="13900000401", areas=["products"]
    )

    def join():
        merchant_team.accept(token, current=None, password="long-enough-1")
        return "joined"

    outcomes = ["joined" if o == "joined" else type(o).__name__ for o in run_at_once(app, join)]
    assert sorted(outcomes) in (["InvitationUnusable", "joined"], ["ValidationFailed", "joined"])
    assert _count(MerchantMember, MerchantMember.role == "staff") == 1
    assert _count(User, User.phone == "13900000401") == 1


def test_join_needs_its_csrf_token(app, client, login, shop):
    _merchant, owner = shop
    login(owner)
    path = _link_path(_invite(client))
    assert isolated_client(app).post(path, data={"password": PASSWORD, "password_again": PASSWORD}).status_code == 400
