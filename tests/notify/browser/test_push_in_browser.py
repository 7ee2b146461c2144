"""The service worker's push handler in Debian's Chromium: a push delivered through CDP
(ServiceWorker.deliverPushMessage) is shown as a notification with the server's title, body
and page; the settings page offers push on a secure origin."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import NotificationChannel
from app.services.notify import notifications
from tests.support.browser import log_in, run_job
from tests.support.push_keys import Browser
from tests.support.receiver import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

NOTIFICATIONS = """navigator.serviceWorker.ready
  .then((r) => r.getNotifications())
  .then((ns) => ns.map((n) => ({ title: n.title, body: n.body, url: n.data && n.data.url, tag: n.tag })))"""


def _registration_id(page, cdp, scope: str) -> str:
    seen = {}
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: seen.update({r["scopeURL"]: r["registrationId"] for r in event["registrations"]}),
    )
    cdp.send("ServiceWorker.enable")
    for _ in range(50):  # the events arrive while Playwright waits on the page
        if scope in seen:
            break
        page.wait_for_timeout(100)
    return seen[scope]


def test_a_push_is_shown_as_a_notification_carrying_its_page(live_server, pages, make_user):
    user = make_user("李团长")
    page = pages.open(phone=True)
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    log_in(page, live_server, user.phone)
    page.goto(live_server.url + "/account/channels")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    expect(page.locator("[data-push]")).to_have_attribute("data-state", "off")
    expect(page.get_by_role("button", name="Turn on push notifications")).to_be_visible()

    cdp = page.context.new_cdp_session(page)
    registration = _registration_id(page, cdp, live_server.url + "/")
    message = {"title": "鲜果坊 到货了", "body": "货架 1–32", "url": "/leader/batches/7", "tag": "batch_arrived-7"}
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server.url, "registrationId": registration, "data": json.dumps(message)},
    )
    shown = []
    for _ in range(50):
        shown = page.evaluate(NOTIFICATIONS)
        if shown:
            break
        page.wait_for_timeout(100)
    assert shown == [{**message, "url": "/leader/batches/7"}]


OPEN_SHOWN = """async (tag) => {
  const shown = await self.registration.getNotifications({ tag });
  return shown.length ? await openFromNotification(shown[0]) : "none shown";
}"""


def _push(page, cdp, live_server, registration, message):
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server.url, "registrationId": registration, "data": json.dumps(message)},
    )
    for _ in range(50):
        if any(n["tag"] == message["tag"] for n in page.evaluate(NOTIFICATIONS)):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"notification {message['tag']} was not shown")


def test_tapping_a_notification_opens_its_page_in_the_open_window_and_never_another_site(live_server, pages, make_user):
    user = make_user("李团长")
    page = pages.open(phone=True)
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    log_in(page, live_server, user.phone)
    page.goto(live_server.url + "/account/channels")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    cdp = page.context.new_cdp_session(page)
    registration = _registration_id(page, cdp, live_server.url + "/")
    [worker] = [w for w in page.context.service_workers if w.url.endswith("/sw.js")]

    _push(
        page,
        cdp,
        live_server,
        registration,
        {"title": "到货", "body": "", "url": "/account/notifications", "tag": "a-1"},
    )
    with page.expect_navigation(url=live_server.url + "/account/notifications"):
        assert worker.evaluate(OPEN_SHOWN, "a-1") == "/account/notifications"
    assert page.evaluate(NOTIFICATIONS) == []  # the tapped notification is closed

    evil = {"title": "x", "body": "", "url": "https://evil.example/steal", "tag": "evil-1"}
    _push(page, cdp, live_server, registration, evil)
    assert worker.evaluate(OPEN_SHOWN, "evil-1") is None
    page.wait_for_timeout(300)
    assert page.url == live_server.url + "/account/notifications"


# Headless Chromium has no push service to subscribe with, so the page's PushManager is given a
# stand-in whose subscription points at a loopback push service and carries keys the test holds;
# everything else — push.js, the API, the outbox, the encryption — is the real thing.
FAKE_PUSH_MANAGER = """(sub) => {
  let current = null;
  window.__subscribedWith = null;
  PushManager.prototype.getSubscription = function () { return Promise.resolve(current); };
  PushManager.prototype.subscribe = function (options) {
    window.__subscribedWith = btoa(String.fromCharCode(...new Uint8Array(options.applicationServerKey)))
      .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
    current = {
      endpoint: sub.endpoint,
      toJSON: () => ({ endpoint: sub.endpoint, expirationTime: null, keys: { p256dh: sub.p256dh, auth: sub.auth } }),
      unsubscribe: () => { current = null; return Promise.resolve(true); },
    };
    return Promise.resolve(current);
  };
}"""


@pytest.fixture
def loopback_push_allowed(monkeypatch):
    # Read by the live server and the job processes started after this (they copy os.environ).
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE", "1")


def test_the_settings_button_subscribes_this_browser_and_a_push_reaches_it_encrypted(
    loopback_push_allowed, app, live_server, pages, make_user
):
    service, keys = Receiver(), Browser()
    try:
        user = make_user("李团长")
        page = pages.open(phone=True)
        page.context.grant_permissions(["notifications"], origin=live_server.url)
        endpoint = service.url + "/push/phone-1"
        stand_in = {"endpoint": endpoint, "p256dh": keys.p256dh, "auth": keys.auth_b64}
        page.context.add_init_script(f"({FAKE_PUSH_MANAGER})({json.dumps(stand_in)})")
        log_in(page, live_server, user.phone)
        page.goto(live_server.url + "/account/channels")
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        box = page.locator("[data-push]")
        expect(box).to_have_attribute("data-state", "off")
        page.get_by_role("button", name="Turn on push notifications").click()
        expect(box).to_have_attribute("data-state", "on")
        expect(page.get_by_role("button", name="Turn off on this device")).to_be_visible()
        key = page.evaluate("fetch('/api/v1/push/key').then((r) => r.json()).then((k) => k.public_key)")
        assert page.evaluate("window.__subscribedWith") == key  # subscribed with the server's VAPID key

        db.session.rollback()
        channel = db.session.scalar(select(NotificationChannel).where(NotificationChannel.user_id == user.id))
        assert (channel.kind, channel.url, channel.removed_at) == ("webpush", endpoint, None)
        notifications.enqueue(
            "batch_arrived", user_ids=[user.id], title="鲜果坊 到货了", body="货架 1–32", link="/leader/batches/7"
        )
        db.session.commit()
        run_job(app.config["SQLALCHEMY_DATABASE_URI"], live_server, "deliver-outbox")
        run_job(app.config["SQLALCHEMY_DATABASE_URI"], live_server, "deliver-channels")
        [received] = service.requests
        assert received.path == "/push/phone-1" and "鲜果坊".encode() not in received.body
        assert keys.decrypt(received.body)["title"] == "鲜果坊 到货了"

        page.get_by_role("button", name="Turn off on this device").click()
        expect(box).to_have_attribute("data-state", "off")
        db.session.rollback()
        assert db.session.get(NotificationChannel, channel.id).removed_at is not None
        db.session.rollback()
    finally:
        service.stop()
