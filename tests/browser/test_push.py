"""The service worker's push handler in Debian's Chromium: a push delivered through CDP
(ServiceWorker.deliverPushMessage) is shown as a notification with the server's title, body
and page; the settings page offers push on a secure origin."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.support.browser import log_in

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
