"""Security headers on every response (pages, JSON, files, the service worker, errors), and a
front end the Content-Security-Policy does not break: no inline script, handler, style attribute
or javascript: URL in any template or script. tests/web/browser/test_csp.py checks it in Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Response

from app.headers import PDF_POLICY, POLICY
from tests.support.platform import isolated_client
from tests.web.integration.test_url_permissions import _requests

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = sorted((ROOT / "app" / "templates").rglob("*.html"))
SCRIPTS = sorted((ROOT / "app" / "static" / "js").rglob("*.js")) + [ROOT / "app" / "templates" / "pwa" / "sw.js"]


def _missing_headers(response) -> list[str]:
    wanted = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}
    missing = [name for name, value in wanted.items() if response.headers.get(name) != value]
    policy = response.headers.get("Content-Security-Policy", "")
    if "frame-ancestors 'none'" not in policy:
        missing.append("Content-Security-Policy")
    return missing


def test_the_policy_allows_this_origin_only_and_nothing_inline():
    directives = dict(d.strip().split(" ", 1) for d in POLICY.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe" not in POLICY and "data:" not in POLICY and "blob:" not in POLICY and "*" not in POLICY


def test_every_rule_answers_with_the_headers_signed_out(app):
    app.config["WTF_CSRF_ENABLED"] = False
    client = isolated_client(app)
    failures = []
    for endpoint, method, url in _requests(app, lambda _endpoint: True):
        response = client.open(url, method=method)
        response.close()
        missing = _missing_headers(response)
        if missing:
            failures.append((endpoint, method, url, response.status_code, missing))
    assert failures == []


def test_every_page_answers_with_the_headers_signed_in_with_every_role(
    app, login, make_user, make_merchant, make_point
):
    user = make_user("全能", is_admin=True)
    make_merchant(owner=user)
    make_point(staff=[user])
    client = login(user, c=isolated_client(app))
    failures = []
    statuses = set()
    for endpoint, method, url in _requests(app, lambda _endpoint: True):
        if method != "GET":
            continue
        response = client.get(url)
        response.close()
        statuses.add(response.status_code)
        missing = _missing_headers(response)
        if missing:
            failures.append((endpoint, url, response.status_code, missing))
    assert failures == []
    assert 200 in statuses  # the walk reached real pages, not only refusals


def test_files_json_and_the_service_worker_carry_the_headers(
    app, client, make_product, make_window, make_point, make_order
):
    product = make_product()
    window = make_window(product.merchant, items=[{"product": product}])
    order = make_order(window, make_point(), [(window.items[0], 1)], status="confirmed")
    urls = [
        "/static/css/app.css",
        "/static/js/page.js",
        "/sw.js",
        "/manifest.webmanifest",
        "/icons/192.png",
        "/vendor/jsqr.js",
        "/api/v1/openapi.json",
        f"/o/{order.access_token}",
        f"/o/{order.access_token}/qr.png",
        "/no-such-page",
    ]
    answers = {}
    for url in urls:
        response = client.get(url)
        response.close()  # files are streamed: close them here, not at garbage collection
        answers[url] = response
    assert {url: r.status_code for url, r in answers.items() if r.status_code != 200} == {"/no-such-page": 404}
    assert {url: _missing_headers(r) for url, r in answers.items() if _missing_headers(r)} == {}
    # A view's stricter choice stays: the order page sends no referrer at all.
    assert answers[f"/o/{order.access_token}"].headers["Referrer-Policy"] == "no-referrer"
    assert answers["/static/css/app.css"].headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_pdfs_get_only_the_anti_framing_policy(app):
    with app.test_request_context("/"):
        response = app.process_response(Response(b"%PDF-1.7", mimetype="application/pdf"))
    assert response.headers["Content-Security-Policy"] == PDF_POLICY
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["X-Content-Type-Options"] == "nosniff"


# ---- the front end stays within the policy

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HANDLER = re.compile(r"""<[^>]*\son[a-z]+\s*=""", re.IGNORECASE)
STYLE_ATTR = re.compile(r"""<[^>]*\sstyle\s*=""", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)
JS_URL = re.compile(r"javascript:", re.IGNORECASE)
EVAL = re.compile(r"\beval\s*\(|\bnew\s+Function\s*\(|setTimeout\(\s*['\"]|setInterval\(\s*['\"]")
SCRIPT_STYLE = re.compile(r"""setAttribute\(\s*['"](style|on[a-z]+)['"]|\.cssText\b|\.innerHTML\b|insertAdjacentHTML""")
DYNAMIC_URL = re.compile(r"\bdata:[a-z]+/|createObjectURL|toDataURL")


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "app" / "templates")))
def test_templates_have_no_inline_script_handler_style_or_javascript_url(path):
    text = path.read_text()
    found = {
        "inline <script>": INLINE_SCRIPT.findall(text),
        "on...= handler": HANDLER.findall(text),
        "style= attribute": STYLE_ATTR.findall(text),
        "<style> element": STYLE_ELEMENT.findall(text),
        "javascript: URL": JS_URL.findall(text),
        "data: URL": DYNAMIC_URL.findall(text),
    }
    assert {kind: hits for kind, hits in found.items() if hits} == {}


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_scripts_use_no_eval_inline_styles_or_generated_urls(path):
    text = path.read_text()
    found = {
        "eval or string timers": EVAL.findall(text),
        "inline style or handler from script": SCRIPT_STYLE.findall(text),
        "javascript: URL": JS_URL.findall(text),
        "data: or blob: URL": DYNAMIC_URL.findall(text),
    }
    assert {kind: hits for kind, hits in found.items() if hits} == {}
