"""The phone scanner (PWA page /pickup/scan) in Debian's Chromium at a phone viewport: a fake
camera fed from a real printed label, a keyboard-wedge scanner, forged QR codes online and
offline, the offline queue and its sync, and two offline devices redeeming one code."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import Notification, Order, PickupCode, PickupStaff, Redemption
from app.services.deliveries import labels
from app.services.notify import outbox
from app.services.pickup import codes
from tests.support.browser import log_in
from tests.support.code_leaks import leaks
from tests.support.fake_camera import shown_then_taken_away

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]


@pytest.fixture
def server_keys(app, live_server, monkeypatch):
    """Sign QR payloads and labels with the live server's key (under its instance path)."""
    monkeypatch.setattr(app, "instance_path", str(Path(live_server.log_path).parent))


def fresh(model, id_):
    db.session.commit()  # a new read transaction: see what the live server wrote
    return db.session.get(model, id_, populate_existing=True)


def open_scanner(page, live_server, user) -> None:
    log_in(page, live_server, user.phone)
    page.goto(live_server.url + "/pickup/scan")
    expect(page.locator("[data-scanner][data-ready]")).to_be_attached(timeout=15000)
    expect(page.locator("[data-manifest-info]")).to_contain_text("Offline list")


def wedge(page, text: str) -> None:
    """A USB/Bluetooth scanner: keystrokes to whatever has focus, then Enter; no click."""
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def title(page):
    return page.get_by_test_id("scan-title")


TYPED_OFFLINE = "Offline: typed codes can't be checked — scan the QR code, or wait for the network."

# What the page keeps on the phone about its user: localStorage, and the text of every Cache
# Storage entry but the service worker's static shell (the same files for everyone). The scanner
# uses no IndexedDB.
DEVICE_STORAGE = """async () => {
  const kept = Object.keys(localStorage).map((key) => key + "=" + localStorage.getItem(key));
  for (const name of (await caches.keys()).filter((n) => !n.startsWith("gb-shell-"))) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      kept.push(request.url + "=" + (await (await cache.match(request)).text()));
    }
  }
  return kept.join("\\n");
}"""


def test_fake_camera_scans_a_printed_label_previews_redeems_and_then_says_already_redeemed(
    live_server, bags, server_keys, camera_browser, tmp_path
):
    bag = bags.make(name="王小明", phone="13612345678")
    bag.order.shelf_slot = 17
    db.session.commit()
    pdf = labels.order_label_pdf(db.session.get(Order, bag.order.id), "60x40")
    context = camera_browser(shown_then_taken_away(pdf, tmp_path))
    page = context.new_page()
    open_scanner(page, live_server, bag.staff)
    # Camera permission is granted, so the scanner starts the camera by itself.
    expect(page.get_by_role("button", name="Stop camera")).to_be_visible()

    preview = page.locator("[data-state=preview]")
    expect(preview).to_be_visible(timeout=20000)
    expect(preview.get_by_test_id("scan-slot")).to_contain_text("17")
    expect(preview).to_contain_text("王**")
    expect(preview).to_contain_text("136****5678")
    expect(preview).not_to_contain_text("13612345678")
    page.get_by_role("button", name="Hand over").click()
    expect(title(page)).to_have_text("Handed over")
    assert page.evaluate("document.body.dataset.lastSignal") == "ok"
    assert fresh(PickupCode, bag.code.id).status == "redeemed"

    # The label leaves the camera's view and is shown again: the second scan is refused.
    expect(title(page)).to_have_text("Already redeemed", timeout=20000)
    assert page.evaluate("document.body.dataset.lastSignal") == "fail"
    assert db.session.query(Redemption).filter_by(outcome="redeemed").count() == 1


def test_keyboard_wedge_alone_looks_up_and_redeems(live_server, pages, bags, server_keys):
    bag = bags.make()
    page = pages.open(phone=True)
    open_scanner(page, live_server, bag.staff)
    wedge(page, codes.qr_text(bag.code))
    expect(page.locator("[data-state=preview]")).to_contain_text(bag.order.number)
    page.keyboard.press("Enter")  # bare Enter: confirm the bag on screen
    expect(title(page)).to_have_text("Handed over")
    assert fresh(PickupCode, bag.code.id).status == "redeemed"
    wedge(page, codes.format_code(bag.code.code))
    expect(title(page)).to_have_text("Already redeemed")


def test_a_wedge_scan_while_a_lookup_is_in_flight_is_looked_up_next(live_server, pages, bags, server_keys):
    first = bags.make()
    second = bags.make(point=first.point, staff=first.staff)
    page = pages.open(phone=True)
    open_scanner(page, live_server, first.staff)
    held = []  # the first lookup is held on the network until the second bag has been scanned

    def hold_first(route):
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route("**/api/v1/pickup/preview", hold_first)
    with page.expect_request("**/api/v1/pickup/preview"):
        wedge(page, codes.qr_text(first.code))
    for _ in range(100):  # Playwright calls the route handler while the page is being waited on
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    wedge(page, codes.qr_text(second.code))  # arrives while the first is still in flight
    held[0].continue_()
    # The first bag is shown, then replaced by the one scanned after it: nothing was dropped.
    expect(page.locator("[data-state=preview]")).to_contain_text(second.order.number, timeout=15000)
    page.keyboard.press("Enter")
    expect(title(page)).to_have_text("Handed over")
    assert fresh(PickupCode, second.code.id).status == "redeemed"
    assert fresh(PickupCode, first.code.id).status == "issued"


def forged_qr(bag) -> str:
    text = codes.qr_text(bag.code)
    body, signature = text.rsplit(".", 1)
    flipped = ("A" if signature[5] != "A" else "B").join((signature[:5], signature[6:]))
    return f"{body}.{flipped}"


def test_forged_qr_is_refused_online_and_offline(live_server, pages, bags, server_keys):
    bag = bags.make()
    page = pages.open(phone=True)
    open_scanner(page, live_server, bag.staff)
    forged = forged_qr(bag)
    wedge(page, forged)
    expect(title(page)).to_contain_text("Invalid signature")

    page.context.set_offline(True)
    expect(page.locator("[data-net]")).to_have_attribute("data-net", "offline")
    page.keyboard.press("Escape")
    wedge(page, forged)
    expect(title(page)).to_contain_text("Invalid signature")
    expect(page.locator("[data-result]")).to_contain_text("Checked offline")
    # ...while the genuine label of the same bag checks out offline.
    page.keyboard.press("Escape")
    wedge(page, codes.qr_text(bag.code))
    expect(page.locator("[data-state=preview]")).to_contain_text("Checked offline")
    assert fresh(PickupCode, bag.code.id).status == "issued"


def test_offline_hand_overs_queue_and_sync_when_the_network_returns(live_server, pages, bags, server_keys):
    first = bags.make()
    second = bags.make(point=first.point, staff=first.staff)
    page = pages.open(phone=True)
    open_scanner(page, live_server, first.staff)
    page.context.set_offline(True)

    wedge(page, codes.qr_text(first.code))
    page.keyboard.press("Enter")
    expect(title(page)).to_contain_text("Handed over offline")
    # Typed, the second bag cannot be checked offline; its label can.
    page.get_by_placeholder("1234 5678").fill(codes.format_code(second.code.code))
    page.get_by_role("button", name="Look up").click()
    expect(title(page)).to_have_text(TYPED_OFFLINE)
    expect(page.locator("[data-queue-count]")).to_have_text("1")
    wedge(page, codes.qr_text(second.code))
    page.get_by_role("button", name="Hand over").click()
    expect(page.locator("[data-queue-count]")).to_have_text("2")
    assert [q.get_attribute("data-queued") for q in page.locator("[data-queued]").all()]
    assert fresh(PickupCode, first.code.id).status == "issued"  # nothing reached the server yet
    # Offline, the device itself knows the bag is gone.
    wedge(page, codes.qr_text(first.code))
    expect(title(page)).to_have_text("Already redeemed")

    page.context.set_offline(False)
    expect(page.locator("[data-queue-count]")).to_have_text("0", timeout=15000)
    expect(page.locator("[data-outcome=redeemed]")).to_have_count(2)
    assert fresh(PickupCode, first.code.id).status == "redeemed"
    assert fresh(PickupCode, second.code.id).status == "redeemed"
    rows = db.session.scalars(select(Redemption)).all()
    assert len(rows) == 2 and all(row.offline_at is not None for row in rows)


def test_two_offline_devices_redeeming_one_code_settle_to_one_redemption_and_one_conflict(
    live_server, pages, bags, server_keys, make_user
):
    bag = bags.make()
    colleague = make_user("店员二")
    db.session.add(PickupStaff(pickup_point_id=bag.point.id, user_id=colleague.id))
    db.session.commit()
    devices = []
    for user in (bag.staff, colleague):
        page = pages.open(phone=True)
        open_scanner(page, live_server, user)
        page.context.set_offline(True)
        wedge(page, codes.qr_text(bag.code))
        page.keyboard.press("Enter")
        expect(title(page)).to_contain_text("Handed over offline")
        devices.append(page)

    devices[0].context.set_offline(False)
    expect(devices[0].locator("[data-outcome=redeemed]")).to_have_count(1, timeout=15000)
    devices[1].context.set_offline(False)
    expect(devices[1].locator("[data-outcome=conflict]")).to_have_count(1, timeout=15000)
    expect(title(devices[1])).to_contain_text("not accepted")
    expect(devices[1].locator("[data-result]")).to_contain_text(bag.staff.name)

    db.session.commit()
    assert db.session.query(Redemption).filter_by(outcome="redeemed").count() == 1
    assert db.session.query(Redemption).filter_by(outcome="already_redeemed").count() == 1
    outbox.deliver_outbox()
    alerts = db.session.scalars(select(Notification).where(Notification.user_id == bag.leader.user_id)).all()
    assert [n for n in alerts if "conflict" in n.title]


def test_scanner_page_opens_with_no_network_once_it_was_opened_online(live_server, pages, bags, server_keys):
    bag = bags.make()
    page = pages.open(phone=True)
    open_scanner(page, live_server, bag.staff)
    page.wait_for_function(
        "async () => Boolean(navigator.serviceWorker.controller || (await navigator.serviceWorker.ready))"
        " && Boolean(await caches.match('/pickup/scan', {cacheName: 'gb-pages'}))",
        timeout=15000,
    )
    page.context.set_offline(True)
    page.reload()
    expect(page.locator("[data-scanner][data-ready]")).to_be_attached(timeout=15000)
    expect(page.locator("[data-net]")).to_have_attribute("data-net", "offline")
    wedge(page, codes.qr_text(bag.code))
    expect(page.locator("[data-state=preview]")).to_contain_text(bag.order.number)


def test_offline_camera_scan_of_a_printed_label_is_checked_by_its_signature_and_syncs(
    live_server, bags, server_keys, camera_browser, tmp_path
):
    bag = bags.make()
    bag.order.shelf_slot = 5
    db.session.commit()
    pdf = labels.order_label_pdf(db.session.get(Order, bag.order.id), "60x40")
    page = camera_browser(shown_then_taken_away(pdf, tmp_path)).new_page()
    open_scanner(page, live_server, bag.staff)
    preview = page.locator("[data-state=preview]")
    expect(preview).to_be_visible(timeout=20000)  # seen online first
    expect(preview).not_to_contain_text("Checked offline")

    page.context.set_offline(True)
    expect(page.locator("[data-net]")).to_have_attribute("data-net", "offline")
    page.get_by_role("button", name="Cancel").click()  # the camera sees the label again, offline
    expect(preview.locator(".scan-offline")).to_have_text("Checked offline", timeout=20000)
    expect(preview.get_by_test_id("scan-slot")).to_contain_text("5")
    page.get_by_role("button", name="Hand over").click()
    expect(title(page)).to_contain_text("Handed over offline")
    assert fresh(PickupCode, bag.code.id).status == "issued"

    page.context.set_offline(False)
    expect(page.locator("[data-outcome=redeemed]")).to_have_count(1, timeout=15000)
    assert fresh(PickupCode, bag.code.id).status == "redeemed"


def test_typed_codes_offline_are_refused_plainly_without_locking_the_phone(live_server, pages, bags, server_keys):
    bag = bags.make()
    page = pages.open(phone=True)
    open_scanner(page, live_server, bag.staff)
    page.context.set_offline(True)
    expect(page.locator("[data-net]")).to_have_attribute("data-net", "offline")
    # Right or wrong, well formed or not: offline a typed code is never looked up, so it is no
    # wrong guess either (the phone locks itself after 5 wrong codes).
    for typed in (bag.code.code, codes.format_code(bag.code.code), "00000000", "1234", "abc", bag.code.code):
        page.keyboard.press("Escape")
        wedge(page, typed)
        expect(title(page)).to_have_text(TYPED_OFFLINE)
        expect(page.locator("[data-state=preview]")).to_have_count(0)
    assert page.evaluate("document.body.dataset.lastSignal") == "fail"
    expect(page.locator("[data-queue-count]")).to_have_text("0")
    wedge(page, codes.qr_text(bag.code))
    expect(page.locator("[data-state=preview]")).to_contain_text("Checked offline")


def test_typed_code_offline_message_is_in_chinese_on_a_chinese_phone(live_server, pages, bags, server_keys):
    bag = bags.make()
    page = pages.open(phone=True)
    page.context.add_cookies([{"name": "lang", "value": "zh", "url": live_server.url}])
    log_in(page, live_server, bag.staff.phone)
    page.goto(live_server.url + "/pickup/scan")
    expect(page.locator("[data-scanner][data-ready]")).to_be_attached(timeout=15000)
    expect(page.locator("[data-manifest-info]")).to_contain_text("离线清单")
    page.context.set_offline(True)
    expect(page.locator("[data-net]")).to_have_attribute("data-net", "offline")
    wedge(page, bag.code.code)
    expect(title(page)).to_have_text("离线：无法校验手动输入的提货码——请扫描二维码，或等待网络恢复。")


def test_nothing_the_phone_keeps_offline_holds_a_waiting_code(live_server, pages, bags, server_keys):
    handed = bags.make()
    waiting = [bags.make(point=handed.point, staff=handed.staff) for _ in range(2)]
    collected = fresh(PickupCode, bags.make(point=handed.point, staff=handed.staff).code.id)
    collected.status, collected.live_code = "redeemed", None
    collected.redeemed_at, collected.redeemed_by_id = handed.order.created_at, handed.staff.id
    db.session.commit()
    page = pages.open(phone=True)
    open_scanner(page, live_server, handed.staff)
    expect(page.locator("[data-manifest-info]")).to_contain_text("3 bags waiting")
    page.wait_for_function("async () => Boolean(await caches.match('/pickup/scan', {cacheName: 'gb-pages'}))")
    page.context.set_offline(True)
    wedge(page, codes.qr_text(collected))  # found by its order id: collected, by whom
    expect(title(page)).to_have_text("Already redeemed")
    expect(page.locator("[data-result]")).to_contain_text(handed.staff.name)
    page.keyboard.press("Escape")
    wedge(page, codes.qr_text(handed.code))
    page.keyboard.press("Enter")
    expect(title(page)).to_contain_text("Handed over offline")

    kept = page.evaluate(DEVICE_STORAGE)
    assert "gb.manifest." in kept and "/pickup/scan=" in kept
    assert leaks(kept, [bag.code.code for bag in waiting] + [collected.code]) == []
    # The bag handed over offline: its QR text stays queued, as the sync's proof, until settled.
    assert kept.count(handed.code.code) == 1 and codes.qr_text(handed.code) in kept
    page.context.set_offline(False)
    expect(page.locator("[data-queue-count]")).to_have_text("0", timeout=15000)
    assert handed.code.code not in page.evaluate(DEVICE_STORAGE)


def test_a_kept_manifest_of_version_1_with_its_hash_key_is_deleted_from_the_phone(
    live_server, pages, bags, server_keys
):
    bag = bags.make()
    page = pages.open(phone=True)
    log_in(page, live_server, bag.staff.phone)
    old = {
        "version": 1,
        "pickup_point": {"id": bag.point.id, "name": bag.point.name},
        "valid_until": "2999-01-01T00:00:00+00:00",
        "hash": {"algorithm": "HMAC-SHA256", "key": "b2xkLWhtYWMta2V5LW9uLXRoZS1waG9uZQ", "day": "2026-11-22"},
        "signing": {"algorithm": "Ed25519", "keys": codes.public_keys(), "qr_version": codes.QR_VERSION},
        "orders": [{"h": "0" * 64, "order_id": bag.order.id, "status": "waiting"}],
    }
    page.evaluate(
        "(m) => { for (const id of [m.pickup_point.id, 987654]) { "
        "localStorage.setItem('gb.manifest.' + id, JSON.stringify(m)); } }",
        old,
    )
    page.goto(live_server.url + "/pickup/scan")
    expect(page.locator("[data-scanner][data-ready]")).to_be_attached(timeout=15000)
    kept = page.evaluate(DEVICE_STORAGE)
    assert "b2xkLWhtYWMta2V5LW9uLXRoZS1waG9uZQ" not in kept and "gb.manifest.987654" not in kept
    assert page.evaluate(f"JSON.parse(localStorage.getItem('gb.manifest.{bag.point.id}')).version") == 2
