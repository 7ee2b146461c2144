"""The leader's main pages at 390×844 in Chinese (the default) and English: no sideways scroll,
every input labelled, tap targets of at least 44 px; a screenshot of each is written to
test-results/screenshots/ (git-ignored) on every run so a person can look at them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import log_in, no_horizontal_scroll

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"
PAGES = {
    "leader-today": "/leader/",
    "leader-orders": "/leader/orders",
    "notifications": "/account/notifications",
    "channels": "/account/channels",
    "scanner": "/pickup/scan",
}
UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.closest('label'))
  .map((el) => el.name || el.id || el.outerHTML.slice(0, 60))"""
SMALL_TARGETS = """() => [...document.querySelectorAll('main button, main .button, main input[type=submit]')]
  .filter((el) => el.offsetParent !== null)
  .map((el) => [el.textContent.trim().slice(0, 30), el.getBoundingClientRect().height])
  .filter(([, h]) => h < 44)"""


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_main_pages_fit_a_phone_label_their_inputs_and_have_big_enough_buttons(
    live_server, pages, make_point, make_leader, lang
):
    leader = make_leader("阳光小区")
    make_point(leader, staff=())
    page = pages.open(phone=True)
    page.context.add_cookies([{"name": "lang", "value": lang, "url": live_server.url}])
    log_in(page, live_server, leader.user.phone)
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = {}
    for name, path in PAGES.items():
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        page.screenshot(path=str(SHOTS / f"{name}-{lang}.png"), full_page=True)
        found = {
            "sideways scroll": not no_horizontal_scroll(page),
            "unlabelled inputs": page.evaluate(UNLABELLED),
            "small tap targets": page.evaluate(SMALL_TARGETS),
        }
        found = {k: v for k, v in found.items() if v}
        if found:
            problems[path] = found
    assert problems == {}
