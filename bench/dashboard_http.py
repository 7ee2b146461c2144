"""The dashboard benchmark's browser and memory probe: a signed-in user over HTTP, and a process's RSS.

The pages are fetched from the app served as in production (`flask serve`, bench/servers.py), not
through the test client, so the serving process holds only what serving them needs and its peak
RSS is the worker's. One keep-alive connection per user, as one browser tab would use.
"""

from __future__ import annotations

import http.client
import re
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

_CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """One user's keep-alive connection to 127.0.0.1:`port`, keeping the cookies it is given."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """(status, body) of one request."""
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.conn.request(method, path, body=body, headers=sent)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closed a connection left idle (waitress drops them after a while): a
            # browser opens a new one, and so do we, once.
            self.conn.close()
            self.conn.request(method, path, body=body, headers=sent)
            response = self.conn.getresponse()
        content = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, content

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request("GET", path)

    def login(self, login: str, password: str) -> None:
        """Sign in through the login form, CSRF token and all, as a person would."""
        status, page = self.get("/login")
        found = _CSRF.search(page)
        if status != 200 or found is None:
            raise RuntimeError(f"no login form: {status}")
        form = urlencode({"csrf_token": found.group(1).decode(), "login": login, "password": password})
        status, _ = self.request("POST", "/login", form.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"login as {login} answered {status}")

    def close(self) -> None:
        self.conn.close()


def memory_mib(pid: int) -> dict:
    """The process's resident set now and its high-water mark (VmRSS, VmHWM), in MiB. Linux only."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024  # kB
    return {"rss_mib": fields["VmRSS"], "hwm_mib": fields["VmHWM"]}


def shown_count(page: bytes, testid: str) -> int | None:
    """The number an element with this data-testid starts with, as the page shows it."""
    found = re.search(rb'data-testid="' + re.escape(testid.encode()) + rb'">\s*(\d+)', page)
    return int(found.group(1)) if found else None
