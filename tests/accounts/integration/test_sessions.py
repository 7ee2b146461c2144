"""Sign-ins end server-side: a copied session or remember cookie stops working after logout, a
password change or deactivation; logout ends only the browser that logged out."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditRecord, MerchantMember, User, UserSession
from app.services.accounts import tokens
from tests.conftest import PASSWORD
from tests.support.forms import csrf_from, post_form
from tests.support.platform import isolated_client

NEW_PASSWORD = "battery-staple-77"


def _log_in(app, user, *, remember=False, password=PASSWORD):
    browser = isolated_client(app)
    token = csrf_from(browser.get("/login").get_data(as_text=True))
    data = {"login": user.phone, "password": password, "csrf_token": token}
    if remember:
        data["remember"] = "y"
    response = browser.post("/login", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return browser


def _login_status(app, user, password) -> int:
    browser = isolated_client(app)
    token = csrf_from(browser.get("/login").get_data(as_text=True))
    return browser.post("/login", data={"login": user.phone, "password": password, "csrf_token": token}).status_code


def _copy(app, browser, *names):
    """Copies of `browser`'s named cookies, replayed from another machine: each call gives a
    fresh client holding only the copies (an attacker re-sends them as taken, keeping nothing
    the server answers)."""
    taken = {}
    for name in names:
        cookie = browser.get_cookie(name)
        assert cookie is not None, f"the browser has no {name} cookie"
        taken[name] = cookie.value

    def replay():
        thief = isolated_client(app)
        for name, value in taken.items():
            thief.set_cookie(name, value)
        return thief

    return replay


def _opens_merchant(browser) -> bool:
    response = browser.get("/merchant/")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


@pytest.fixture
def owner(make_user, make_merchant):
    user = make_user("老板", phone="13900000701")
    make_merchant(owner=user)
    return user


@pytest.mark.parametrize("cookie", ["session", "remember_token"])
def test_a_copied_cookie_stops_working_after_logout(app, owner, cookie):
    browser = _log_in(app, owner, remember=True)
    thief = _copy(app, browser, cookie)
    assert _opens_merchant(thief())  # the copy works while the sign-in lasts

    post_form(browser, "/logout", {}, page="/merchant/")
    assert not _opens_merchant(browser)
    assert not _opens_merchant(thief())


def test_logout_on_one_browser_keeps_the_others_signed_in(app, owner):
    counter_pc = _log_in(app, owner)
    phone = _log_in(app, owner, remember=True)
    post_form(counter_pc, "/logout", {}, page="/merchant/")
    assert not _opens_merchant(counter_pc)
    assert _opens_merchant(phone)


def test_a_password_change_ends_every_other_sign_in_and_keeps_this_one(app, owner):
    this = _log_in(app, owner)
    other = _log_in(app, owner, remember=True)
    stolen = [_copy(app, other, "session"), _copy(app, other, "remember_token")]
    assert all(_opens_merchant(copy()) for copy in stolen)

    response = post_form(
        this,
        "/account/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
        page="/account/security",
    )
    assert response.status_code == 303
    assert _opens_merchant(this)
    assert not _opens_merchant(other)
    assert not any(_opens_merchant(copy()) for copy in stolen)
    # The old password no longer logs in, the new one does.
    assert _login_status(app, owner, PASSWORD) == 422
    assert _opens_merchant(_log_in(app, owner, password=NEW_PASSWORD))
    assert db.session.scalar(select(func.count()).where(AuditRecord.action == "user.password_changed")) == 1


@pytest.mark.parametrize(
    ("current", "new", "again", "field"),
    [
        ("not-my-password", NEW_PASSWORD, NEW_PASSWORD, "wrong"),
        (PASSWORD, "short", "short", "8–128"),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "differ"),
        (PASSWORD, "x" * 129, "x" * 129, "128"),
        ("", NEW_PASSWORD, NEW_PASSWORD, "required"),
    ],
)
def test_a_refused_password_change_says_why_and_changes_nothing(app, owner, current, new, again, field):
    this = _log_in(app, owner)
    other = _log_in(app, owner)
    stored = owner.password_hash
    form = {"current_password": current, "new_password": new, "new_password_again": again}
    response = post_form(this, "/account/password", form, page="/account/security")
    assert response.status_code == 422
    assert field in response.get_data(as_text=True)
    assert db.session.get(User, owner.id, populate_existing=True).password_hash == stored
    assert _opens_merchant(other)


def test_sign_out_everywhere_else_keeps_only_this_browser(app, owner):
    this, other = _log_in(app, owner), _log_in(app, owner, remember=True)
    page = this.get("/account/security").get_data(as_text=True)
    assert "signed in on 2 browsers" in page
    assert post_form(this, "/account/sessions/end-others", {}, page="/account/security").status_code == 303
    assert _opens_merchant(this) and not _opens_merchant(other)


def test_deactivating_a_user_ends_their_sign_ins_and_tokens(app, owner, make_user, login, client):
    member = make_user("店员", phone="13900000702")
    merchant_id = db.session.scalar(select(MerchantMember.merchant_id).where(MerchantMember.user_id == owner.id))
    db.session.add(MerchantMember(merchant_id=merchant_id, user_id=member.id, role="staff", areas=["products"]))
    db.session.commit()
    _token, plain = tokens.create_token(member, "scanner")
    bearer = {"Authorization": f"Bearer {plain}"}
    browser = _log_in(app, member, remember=True)
    stolen = _copy(app, browser, "remember_token")
    assert _opens_merchant(stolen())
    scanner = isolated_client(app)
    assert _opens_merchant(browser) and scanner.get("/api/v1/me", headers=bearer).status_code == 200

    admin = make_user("平台", phone="13900000703", is_admin=True)
    login(admin)
    page = f"/admin/merchants/{merchant_id}"
    form = {"active": "0", "merchant_id": merchant_id}
    response = post_form(client, f"/admin/users/{member.id}/active", form, page=page)
    assert response.status_code == 302 and response.headers["Location"].endswith(page)

    assert not _opens_merchant(browser) and not _opens_merchant(stolen())
    assert scanner.get("/api/v1/me", headers=bearer).status_code == 401
    assert db.session.scalar(select(func.count()).select_from(UserSession).where(UserSession.user_id == member.id)) == 0
    assert _login_status(app, member, PASSWORD) == 422

    post_form(client, f"/admin/users/{member.id}/active", {"active": "1"}, page=page)
    assert _opens_merchant(_log_in(app, member))


def test_an_admin_cannot_deactivate_their_own_login(app, make_user, login, client):
    admin = make_user("平台", phone="13900000704", is_admin=True)
    login(admin)
    response = post_form(client, f"/admin/users/{admin.id}/active", {"active": "0"}, page="/admin/")
    assert response.status_code == 422
    assert db.session.get(User, admin.id, populate_existing=True).active
    assert client.get("/admin/").status_code == 200


def test_deactivating_an_unknown_user_or_with_a_bad_value_changes_nothing(app, make_user, login, client):
    admin = make_user("平台", phone="13900000705", is_admin=True)
    login(admin)
    assert post_form(client, "/admin/users/424242/active", {"active": "0"}, page="/admin/").status_code == 404
    assert post_form(client, f"/admin/users/{admin.id}/active", {"active": "maybe"}, page="/admin/").status_code == 422


def test_a_member_removed_from_the_team_loses_the_merchant_portal_on_every_copy(app, owner, make_user, login, client):
    member = make_user("店员", phone="13900000706")
    merchant_id = db.session.scalar(select(MerchantMember.merchant_id).where(MerchantMember.user_id == owner.id))
    db.session.add(MerchantMember(merchant_id=merchant_id, user_id=member.id, role="staff", areas=["products"]))
    db.session.commit()
    member_id = db.session.scalar(select(MerchantMember.id).where(MerchantMember.user_id == member.id))
    _token, plain = tokens.create_token(member, "scanner")
    browser = _log_in(app, member, remember=True)
    stolen = _copy(app, browser, "session", "remember_token")

    login(owner)
    post_form(client, f"/merchant/team/members/{member_id}/remove", {}, page="/merchant/team")
    # Roles are checked on every request, so removal needs no sign-out: the person keeps their
    # account (and any role they hold elsewhere) but no copy opens this merchant's portal.
    assert stolen().get("/merchant/").status_code == 403
    bearer = {"Authorization": f"Bearer {plain}"}
    assert isolated_client(app).get("/api/v1/merchant/products", headers=bearer).status_code == 403


def test_a_cookie_naming_a_user_id_is_not_a_sign_in(app, owner):
    # Cookies written before sign-ins were kept server-side carried the user id: signed with the
    # right secret, they still open nothing.
    forged = isolated_client(app)
    with forged.session_transaction() as session:
        session["_user_id"] = str(owner.id)
        session["_fresh"] = True
    assert not _opens_merchant(forged)


def test_a_sign_in_ends_when_its_cookie_would_have_expired(app, owner, frozen_clock):
    browser = _log_in(app, owner, remember=True)
    frozen_clock.advance(days=364)
    assert _opens_merchant(browser)
    frozen_clock.advance(days=2)
    assert not _opens_merchant(browser)
    # The next login of the user clears the expired row.
    _log_in(app, owner)
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 1


def test_a_sign_in_without_remember_lasts_the_session_lifetime(app, owner, frozen_clock):
    browser = _log_in(app, owner)
    frozen_clock.advance(seconds=app.permanent_session_lifetime.total_seconds() - 60)
    assert _opens_merchant(browser)
    frozen_clock.advance(minutes=2)
    assert not _opens_merchant(browser)
