from app.extensions import db
from app.models import User
from tests.support.forms import csrf_from


def test_login_by_phone_lands_on_role_home(client, login, make_merchant, make_user):
    owner = make_user("老板", phone="13912345678")
    make_merchant(owner=owner)
    response = login(owner).get("/", follow_redirects=False)
    assert response.headers["Location"].endswith("/merchant/")


def test_login_by_email_is_case_insensitive(client, make_user):
    make_user("A", email="leader@example.com")
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"login": "Leader@Example.com", "password": "correct-horse-42", "csrf_token": token}
    )
    assert response.status_code == 302


def test_wrong_password_shows_field_error_and_no_session(client, make_user):
    user = make_user(phone="13900000001")
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"login": user.phone, "password": "nope-nope", "csrf_token": token})
    assert response.status_code == 422
    assert "Wrong mobile number" in response.get_data(as_text=True) or "错误" in response.get_data(as_text=True)
    assert client.get("/merchant/").status_code == 302


def test_login_without_csrf_token_is_refused(client, make_user):
    user = make_user(phone="13900000002")
    response = client.post("/login", data={"login": user.phone, "password": "correct-horse-42"})
    assert response.status_code == 400


def test_login_is_rate_limited_with_a_clear_message(client, make_user):
    user = make_user(phone="13900000003")
    token = csrf_from(client.get("/login").get_data(as_text=True))
    statuses = [
        client.post("/login", data={"login": user.phone, "password": "wrong-pass", "csrf_token": token}).status_code
        for _ in range(12)
    ]
    assert statuses[:10] == [422] * 10
    assert statuses[10:] == [429, 429]


def test_open_redirect_in_next_is_ignored(client, make_user):
    user = make_user(phone="13900000004", is_admin=True)
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login?next=//evil.example/x", data={"login": user.phone, "password": "correct-horse-42", "csrf_token": token}
    )
    assert response.headers["Location"] == "/admin/"


def test_passwords_are_stored_hashed(app, make_user):
    make_user(phone="13900000005")
    stored = db.session.scalar(db.select(User.password_hash))
    assert "correct-horse-42" not in stored and stored.startswith(("scrypt:", "pbkdf2:"))


def test_session_cookie_is_httponly_and_lax(client, login, make_user):
    user = make_user(phone="13900000006")
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"login": user.phone, "password": "correct-horse-42", "csrf_token": token})
    cookie = response.headers.get("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
