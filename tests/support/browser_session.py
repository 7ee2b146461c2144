"""Browser tests: Playwright driving Debian's Chromium (never a downloaded browser)."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.support.engines import IN_CI

PHONE = {"width": 390, "height": 844}
# Without the background-networking flags Chromium keeps calling Google's hosts, which this
# machine's closed network refuses.
BROWSER_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    path = _chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - requirements-dev installs it
        path = None
    if path is None:
        if IN_CI:
            pytest.fail("chromium is not installed: in CI the browser tests must run")
        pytest.skip("browser tests need Debian's chromium (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=path,
            args=list(BROWSER_ARGS),
        )
        yield browser
        browser.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = context.new_page()
    yield page
    context.close()


# ---- a phone whose camera films a video file (Chromium's fake capture device)

CAMERA_ARGS = (
    *BROWSER_ARGS,
    # ... plus a camera that plays the file in a loop, and no permission prompt.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
)


@pytest.fixture
def camera_browser(browser, live_server):
    """`camera_browser(video_path)`: a phone context whose camera sees that Y4M video.

    Each call launches its own Chromium (the capture file is a launch flag) from the session's
    Playwright; camera permission is granted to the live server's origin. Closed at teardown.
    Videos come from tests/support/fake_camera.py.
    """
    launched = []

    def open_context(video_path):
        camera = browser.browser_type.launch(
            executable_path=_chromium_path(),
            args=[*CAMERA_ARGS, f"--use-file-for-fake-video-capture={video_path}"],
        )
        launched.append(camera)
        context = camera.new_context(
            viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai"
        )
        context.grant_permissions(["camera"], origin=live_server.url)
        context.add_cookies([{"name": "lang", "value": "en", "url": live_server.url}])
        return context

    yield open_context
    for camera in launched:
        camera.close()


@pytest.fixture
def pages(browser, live_server):
    """Pages in fresh contexts (English UI), every context closed at the end of the test."""
    from tests.support.browser import Pages

    opened = Pages(browser, live_server)
    yield opened
    opened.close()


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    from tests.support.pickup import Bags

    return Bags(make_user, make_product, make_window, make_point, make_order)
