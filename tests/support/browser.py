"""Helpers shared by the browser tests: contexts with the English UI, logging in, running a job
the way the scheduler does (a separate `flask` process over the live server's database)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PASSWORD, SECRET
from tests.support.live_server import ROOT, LiveServer

PHONE = {"width": 390, "height": 844}  # as tests/support/browser_session.py
DESKTOP = {"width": 1280, "height": 900}


def new_page(browser, live_server: LiveServer, *, phone: bool):
    """A fresh context (its own cookies) showing the English UI, in the deployment's zone."""
    options = {"viewport": PHONE, "is_mobile": True, "has_touch": True} if phone else {"viewport": DESKTOP}
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **options)
    context.add_cookies([{"name": "lang", "value": "en", "url": live_server.url}])
    return context.new_page()


class Pages:
    """Opens pages in fresh contexts and closes every context at the end of the test."""

    def __init__(self, browser, live_server: LiveServer):
        self.browser = browser
        self.live_server = live_server
        self.contexts = []

    def open(self, *, phone: bool):
        page = new_page(self.browser, self.live_server, phone=phone)
        self.contexts.append(page.context)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def log_in(page, live_server: LiveServer, login: str, password: str = PASSWORD) -> None:
    page.goto(live_server.url + "/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def run_job(database_url: str, live_server: LiveServer, job_id: str) -> str:
    """`flask jobs <job_id>` with the live server's settings (database, secret, instance/keys)."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET,
        INSTANCE_PATH=str(Path(live_server.log_path).parent),
        FLASK_APP="app",
        SCHEDULER_ENABLED="0",
    )
    done = subprocess.run(
        [sys.executable, "-m", "flask", "jobs", job_id],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
