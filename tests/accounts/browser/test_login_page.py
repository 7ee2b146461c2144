import pytest

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]


def test_login_page_fits_a_phone_and_logs_in(live_server, phone, make_user):
    user = make_user(phone="13812345678")
    phone.goto(live_server.url + "/login")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.fill("input[name=login]", user.phone)
    phone.fill("input[name=password]", "correct-horse-42")
    phone.click("button[type=submit]")
    phone.wait_for_load_state()
    assert "/login" not in phone.url
