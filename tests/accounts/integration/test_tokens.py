"""Personal API tokens: created once, listed without the secret, revoked; Bearer only on /api/."""

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ApiToken, User
from app.services.accounts.tokens import create_token, revoke_token
from tests.support.forms import csrf_from
from tests.support.platform import isolated_client

TOKEN_RE = re.compile(r'data-testid="token-value">(gbw_[A-Za-z0-9_\-]+)<')


@pytest.fixture
def client(app):
    return isolated_client(app)


def _bearer(plain: str) -> dict:
    return {"Authorization": f"Bearer {plain}"}


def _create_via_page(client, name="柜台扫码枪"):
    token = csrf_from(client.get("/account/tokens").get_data(as_text=True))
    return client.post("/account/tokens", data={"name": name, "csrf_token": token})


def test_created_token_is_shown_once_and_then_only_its_prefix(client, login, make_user):
    login(make_user("店员"))
    response = _create_via_page(client)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    plain = TOKEN_RE.search(response.get_data(as_text=True)).group(1)
    stored = db.session.scalar(select(ApiToken))
    assert stored.name == "柜台扫码枪" and plain.startswith(stored.prefix)
    assert plain not in stored.token_hash
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert plain not in listing and stored.prefix in listing and "柜台扫码枪" in listing


def test_created_token_authenticates_the_api(client, login, make_user):
    user = make_user("店员")
    login(user)
    plain = TOKEN_RE.search(_create_via_page(client).get_data(as_text=True)).group(1)
    other = isolated_client(client.application)
    response = other.get("/api/v1/me", headers=_bearer(plain))
    assert response.status_code == 200
    assert response.get_json()["id"] == user.id


def test_token_name_is_required_and_bounded(client, login, make_user):
    login(make_user())
    assert _create_via_page(client, name="").status_code == 422
    response = _create_via_page(client, name="x" * 81)
    assert response.status_code == 422
    assert db.session.scalar(select(ApiToken)) is None


def test_hostile_token_name_is_escaped(client, login, make_user):
    login(make_user())
    _create_via_page(client, name="<b>boom</b>")
    html = client.get("/account/tokens").get_data(as_text=True)
    assert "<b>boom</b>" not in html and "&lt;b&gt;boom&lt;/b&gt;" in html


def test_token_pages_need_a_login(client):
    assert client.get("/account/tokens").status_code == 302
    assert client.post("/account/tokens", data={"name": "x"}).status_code in (302, 400)


def test_revoked_token_answers_401(client, login, make_user):
    user = make_user()
    token, plain = create_token(user, "scanner")
    assert client.get("/api/v1/me", headers=_bearer(plain)).status_code == 200
    login(user)
    csrf = csrf_from(client.get("/account/tokens").get_data(as_text=True))
    assert client.post(f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf}).status_code == 302
    anonymous = isolated_client(client.application)
    response = anonymous.get("/api/v1/me", headers=_bearer(plain))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Revoked" in client.get("/account/tokens").get_data(as_text=True)


@pytest.mark.parametrize(
    "header",
    ["Bearer nope_abcdefghijklmnop", "Bearer gbw_not-a-real-token", "Bearer ", "Bearer gbw_" + "a" * 200],
)
def test_unknown_or_malformed_tokens_answer_401(client, make_user, header):
    create_token(make_user(), "scanner")
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_token"


def test_token_with_wrong_prefix_is_refused_even_if_the_rest_matches(client, make_user):
    _token, plain = create_token(make_user(), "scanner")
    response = client.get("/api/v1/me", headers=_bearer("xyz_" + plain.removeprefix("gbw_")))
    assert response.status_code == 401


def test_token_of_a_deactivated_user_answers_401(client, make_user):
    user = make_user()
    _token, plain = create_token(user, "scanner")
    user.active = False
    db.session.commit()
    assert client.get("/api/v1/me", headers=_bearer(plain)).status_code == 401


def test_bearer_scheme_is_case_insensitive(client, make_user):
    _token, plain = create_token(make_user(), "scanner")
    assert client.get("/api/v1/me", headers={"Authorization": f"bearer {plain}"}).status_code == 200


def test_bearer_token_does_not_authenticate_html_pages(client, make_user):
    _token, plain = create_token(make_user(), "scanner")
    response = client.get("/account/tokens", headers=_bearer(plain))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_bearer_request_sets_no_session_cookie(client, make_user):
    _token, plain = create_token(make_user(), "scanner")
    response = client.get("/api/v1/me", headers=_bearer(plain))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    response = client.post("/api/v1/me/locale", json={"locale": "en"}, headers=_bearer(plain))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert client.get_cookie("session") is None


def test_bearer_wins_over_a_session_cookie_and_leaves_the_session_alone(client, login, make_user):
    session_user = make_user("会话用户")
    token_user = make_user("令牌用户")
    login(session_user)
    cookie_before = client.get_cookie("session").value
    _token, plain = create_token(token_user, "scanner")
    response = client.get("/api/v1/me", headers=_bearer(plain))
    assert response.get_json()["id"] == token_user.id
    assert "Set-Cookie" not in response.headers
    assert client.get_cookie("session").value == cookie_before
    assert client.get("/api/v1/me").get_json()["id"] == session_user.id


def test_revoking_another_users_token_is_404_and_keeps_it_working(client, login, make_user):
    owner = make_user("主人")
    token, plain = create_token(owner, "scanner")
    login(make_user("别人"))
    csrf = csrf_from(client.get("/account/tokens").get_data(as_text=True))
    assert client.post(f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf}).status_code == 404
    assert client.post("/account/tokens/999999/revoke", data={"csrf_token": csrf}).status_code == 404
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is None
    assert isolated_client(client.application).get("/api/v1/me", headers=_bearer(plain)).status_code == 200


def test_other_users_tokens_are_not_listed(client, login, make_user):
    create_token(make_user("主人"), "主人的扫码枪")
    login(make_user("别人"))
    assert "主人的扫码枪" not in client.get("/account/tokens").get_data(as_text=True)


def test_revoking_twice_is_harmless(client, login, make_user):
    user = make_user()
    token, _plain = create_token(user, "scanner")
    revoke_token(user, token.id)
    first = db.session.get(ApiToken, token.id).revoked_at
    login(user)
    csrf = csrf_from(client.get("/account/tokens").get_data(as_text=True))
    assert client.post(f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf}).status_code == 302
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at == first
    assert db.session.get(User, user.id) is not None
