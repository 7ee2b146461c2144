"""Login limits count wrong passwords, per address and per account; successful logins count
against nothing; a browser the account logged in from before is never locked out by guesses
made elsewhere; a phone that changes its User-Agent or network stays signed in."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.support.forms import csrf_from, post_form
from tests.support.platform import isolated_client

LIMIT = 10  # LOGIN_RATE_LIMIT and LOGIN_ACCOUNT_RATE_LIMIT, both 10 by default


def _attempt(browser, login: str, password: str, address: str = "127.0.0.1") -> int:
    env = {"REMOTE_ADDR": address}
    token = csrf_from(browser.get("/login", environ_base=env).get_data(as_text=True))
    data = {"login": login, "password": password, "csrf_token": token}
    return browser.post("/login", data=data, environ_base=env).status_code


def _from_somewhere_new(app, login: str, password: str, n: int) -> int:
    """An attempt from a fresh browser at a fresh address (a botnet's next machine)."""
    return _attempt(isolated_client(app), login, password, address=f"198.51.100.{n}")


def test_successful_logins_from_one_address_are_not_limited(app, make_user):
    # A shop's staff behind one Wi-Fi address, logging in and out all day.
    staff = [make_user(f"店员{n}") for n in range(4)]
    statuses = [_attempt(isolated_client(app), user.phone, PASSWORD) for _ in range(4) for user in staff]
    assert statuses == [302] * 16


def test_guesses_at_one_account_from_many_addresses_are_limited(app, make_user):
    victim = make_user(phone="13900000801")
    statuses = [_from_somewhere_new(app, victim.phone, f"guess-{n}", n) for n in range(LIMIT + 2)]
    assert statuses == [422] * LIMIT + [429, 429]
    # Another account is not affected, from any address.
    other = make_user(phone="13900000802")
    assert _from_somewhere_new(app, other.phone, PASSWORD, 99) == 302


def test_writing_the_account_differently_gives_no_fresh_guesses(app, make_user):
    make_user(phone="13900000803", email="victim@example.com")
    spellings = ["13900000803", "+86 139 0000 0803", "0086-13900000803", "Victim@Example.com", "victim@example.com"]
    statuses = [_from_somewhere_new(app, spellings[n % 5], f"guess-{n}", n) for n in range(LIMIT + 1)]
    assert statuses == [422] * LIMIT + [429]


def test_a_browser_that_logged_in_before_is_not_locked_out_by_guesses_elsewhere(app, make_user):
    owner = make_user(phone="13900000804")
    phone = isolated_client(app)
    assert _attempt(phone, owner.phone, PASSWORD, address="203.0.113.9") == 302
    post_form(phone, "/logout", {}, page="/account/notifications")

    for n in range(LIMIT + 1):  # an attacker keeps the account's limit full
        _from_somewhere_new(app, owner.phone, f"guess-{n}", n)
    assert _from_somewhere_new(app, owner.phone, PASSWORD, 77) == 429  # a new browser waits

    # The owner's own phone still logs in, even on another network, and a typo there counts
    # only against its address.
    assert _attempt(phone, owner.phone, "typo-typo", address="203.0.113.10") == 422
    assert _attempt(phone, owner.phone, PASSWORD, address="203.0.113.10") == 302


def test_a_known_device_cookie_for_one_account_does_not_exempt_another(app, make_user):
    mine, target = make_user(phone="13900000805"), make_user(phone="13900000806")
    attacker = isolated_client(app)
    assert _attempt(attacker, mine.phone, PASSWORD, address="203.0.113.20") == 302
    for n in range(LIMIT):
        _from_somewhere_new(app, target.phone, f"guess-{n}", n)
    assert _attempt(attacker, target.phone, "guess-x", address="203.0.113.21") == 429
    forged = isolated_client(app)
    forged.set_cookie("known_device", "0123456789abcdef0123.not-a-tag")
    assert _attempt(forged, target.phone, "guess-y", address="203.0.113.22") == 429


def test_wrong_passwords_from_one_address_are_still_limited_across_accounts(app, make_user):
    users = [make_user(f"用户{n}") for n in range(LIMIT + 1)]
    browser = isolated_client(app)
    statuses = [_attempt(browser, user.phone, "wrong-password") for user in users]
    assert statuses == [422] * LIMIT + [429]


def test_guesses_at_the_current_password_of_a_signed_in_browser_are_limited(app, make_user, login, client):
    user = make_user(phone="13900000807")
    login(user)
    form = {"current_password": "guess", "new_password": "battery-staple-77", "new_password_again": "battery-staple-77"}
    statuses = [post_form(client, "/account/password", form, page="/account/security").status_code for _ in range(11)]
    assert statuses == [422] * LIMIT + [429]


@pytest.mark.parametrize(
    "change",
    [
        {"HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/140.0 Safari/537.36"},
        {"REMOTE_ADDR": "100.64.0.9"},
    ],
    ids=["desktop-site", "wifi-to-4g"],
)
def test_a_phone_that_changes_its_user_agent_or_network_stays_signed_in(app, make_user, change):
    user = make_user(phone="13900000808", is_admin=True)
    phone_env = {"HTTP_USER_AGENT": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148"}
    phone = isolated_client(app)
    token = csrf_from(phone.get("/login", environ_base=phone_env).get_data(as_text=True))
    data = {"login": user.phone, "password": PASSWORD, "csrf_token": token}
    assert phone.post("/login", data=data, environ_base=phone_env).status_code == 302
    assert phone.get("/admin/", environ_base={**phone_env, **change}).status_code == 200
