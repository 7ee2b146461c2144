"""Helpers for posting real forms (with their CSRF tokens) in HTTP tests."""

from __future__ import annotations

import re

import requests

CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"'
    r'|name="csrf_token" value="([^"]+)"'
    r'|name="csrf-token" content="([^"]+)"'
)


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in page"
    return next(g for g in match.groups() if g)


def post_form(client, url: str, data: dict, *, page: str | None = None, **kw):
    """GET the page (or `page`) for a CSRF token, then POST `data` to `url`."""
    token = csrf_from(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token}, **kw)


def logged_in_session(base_url: str, phone: str, password: str) -> requests.Session:
    """A requests session signed in to a live server through its real login form."""
    session = requests.Session()
    token = csrf_from(session.get(f"{base_url}/login", timeout=30).text)
    response = session.post(
        f"{base_url}/login",
        data={"login": phone, "password": password, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[:300]
    return session
