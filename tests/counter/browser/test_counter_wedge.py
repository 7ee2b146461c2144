"""A USB/Bluetooth scanner is a keyboard that types fast and presses Enter: the counter must work
with it alone, no mouse, on a phone and on a counter PC."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.services.pickup import codes
from tests.support.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]


@pytest.fixture
def signed_like_the_server(app, live_server, monkeypatch):
    """QR payloads signed with the live server's key (it lives under the server's instance path)."""
    monkeypatch.setattr(app, "instance_path", str(Path(live_server.log_path).parent))
    return codes.qr_text


def ready(page) -> None:
    """counter.js has run on the page now shown (a bare Enter needs its handler: without it the
    empty "next code" is refused by design, never a hand-over)."""
    page.wait_for_selector("html[data-counter-ready]", state="attached")


def scan(page, text: str) -> None:
    """What a wedge scanner does: keystrokes into whatever has the focus, then Enter."""
    ready(page)
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def counter_for(pages, live_server, bag, *, phone: bool):
    page = pages.open(phone=phone)
    log_in(page, live_server, bag.staff.phone)
    expect(page.get_by_role("heading", name="Pickup counter")).to_be_visible()
    expect(page.get_by_test_id("code-input")).to_be_focused()
    return page


DEVICES = pytest.mark.parametrize("phone", [True, False], ids=["phone", "desktop"])


@DEVICES
def test_a_scanner_alone_looks_up_a_code(live_server, pages, bags, phone):
    bag = bags.make(name="张三丰", phone="13912345678")
    page = counter_for(pages, live_server, bag, phone=phone)

    scan(page, bag.code.code)
    preview = page.get_by_test_id("preview")
    expect(preview).to_contain_text(bag.order.number)
    expect(preview).to_contain_text("139****5678")
    expect(preview).not_to_contain_text("13912345678")


@DEVICES
def test_enter_on_the_preview_hands_the_bag_over(live_server, pages, bags, phone):
    bag = bags.make()
    page = counter_for(pages, live_server, bag, phone=phone)
    scan(page, bag.code.code)
    expect(page.get_by_test_id("preview")).to_contain_text(bag.order.number)

    ready(page)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("result-ok")).to_contain_text("Handed over", timeout=3000)
    expect(page.get_by_test_id("result-ok")).to_contain_text(bag.order.number)
    # The next customer's scan goes straight into the emptied, focused input.
    expect(page.get_by_test_id("code-input")).to_be_focused()
    expect(page.get_by_test_id("code-input")).to_have_value("")

    scan(page, bag.code.code)
    expect(page.get_by_test_id("result-bad")).to_have_attribute("data-error-code", "already_redeemed")


def test_scanning_the_next_bag_on_a_preview_never_hands_over_the_previewed_one(live_server, pages, bags):
    """A scanner ends every scan with Enter: on an open preview that Enter must not confirm it."""
    first = bags.make()
    second = bags.make(point=first.point, staff=first.staff, window=first.window)
    page = counter_for(pages, live_server, first, phone=True)
    scan(page, first.code.code)
    expect(page.get_by_test_id("preview")).to_contain_text(first.order.number)

    scan(page, second.code.code)
    # The scan's own navigation must land before Escape: pressed while it is in flight, Escape's
    # navigation and the lookup's race and either may win.
    expect(page.get_by_test_id("preview")).to_contain_text(second.order.number)
    ready(page)
    page.keyboard.press("Escape")  # back to the counter, as the preview page offers
    expect(page.get_by_test_id("code-input")).to_be_focused()
    scan(page, first.code.code)
    expect(page.get_by_test_id("preview")).to_contain_text(first.order.number)
    expect(page.get_by_test_id("confirm")).to_be_visible()


def test_a_forged_qr_payload_is_refused_and_the_genuine_one_is_found(live_server, pages, bags, signed_like_the_server):
    bag = bags.make()
    genuine = signed_like_the_server(bag.code)
    # GB1.<kid>.<order>.<point>.<code>.<issued>.<signature>: one digit of the code changed.
    parts = genuine.split(".")
    parts[4] = parts[4][:-1] + str((int(parts[4][-1]) + 1) % 10)
    forged = ".".join(parts)
    page = counter_for(pages, live_server, bag, phone=True)

    scan(page, forged)
    refused = page.get_by_test_id("result-bad")
    expect(refused).to_have_attribute("data-error-code", "bad_signature")
    expect(refused).to_contain_text("Invalid signature")
    expect(page.get_by_test_id("code-input")).to_be_focused()

    scan(page, genuine)
    expect(page.get_by_test_id("preview")).to_contain_text(bag.order.number)


def test_a_scan_on_an_open_preview_looks_up_that_bag_instead(live_server, pages, bags):
    first = bags.make()
    second = bags.make(point=first.point, staff=first.staff, window=first.window)
    page = counter_for(pages, live_server, first, phone=True)
    scan(page, first.code.code)
    expect(page.get_by_test_id("preview")).to_contain_text(first.order.number)

    scan(page, second.code.code)
    expect(page.get_by_test_id("preview")).to_contain_text(second.order.number)
    ready(page)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("result-ok")).to_contain_text(second.order.number)

    scan(page, first.code.code)  # the first bag was never handed over
    expect(page.get_by_test_id("preview")).to_contain_text(first.order.number)
    expect(page.get_by_test_id("confirm")).to_be_visible()
