"""The language switch on a phone: Chinese first (the browser asks for zh-CN), one tap to
English that sticks across pages and is saved on the account, and back."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import User
from tests.support.browser import PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]


def test_the_switch_changes_every_page_and_saves_the_choice(live_server, browser, make_leader):
    leader = make_leader("阳光小区")
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    try:
        page = context.new_page()
        page.goto(live_server.url + "/login")
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        log_in(page, live_server, leader.user.phone)
        expect(page.get_by_role("heading", name="今日")).to_be_visible()

        page.get_by_test_id("lang-switch").get_by_role("button", name="EN").click()
        expect(page.get_by_role("heading", name="Today")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        page.get_by_role("link", name="Orders", exact=True).first.click()
        expect(page.get_by_role("heading", name="Orders")).to_be_visible()
        db.session.rollback()
        assert db.session.get(User, leader.user.id).locale == "en"  # pushes and mails follow
        db.session.rollback()

        page.get_by_test_id("lang-switch").get_by_role("button", name="中文").click()
        expect(page.get_by_role("heading", name="订单")).to_be_visible()
        db.session.rollback()
        assert db.session.get(User, leader.user.id).locale == "zh"
        db.session.rollback()
    finally:
        context.close()


def test_an_english_browser_gets_english_before_anyone_chooses(live_server, browser):
    context = browser.new_context(viewport=PHONE, locale="en-US")
    try:
        page = context.new_page()
        page.goto(live_server.url + "/login")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        page.get_by_role("link", name="中文").click()
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    finally:
        context.close()
