"""The sample nginx config (deploy/nginx/groupbuy.conf) run live in front of two app hosts, as
the README's scale-out section deploys them: pages and static files over HTTPS with HSTS, plain
HTTP sent to HTTPS, rate limits counted per customer address (not per proxy, and not per address
a client writes into X-Forwarded-For), oversized bodies stopped at the proxy, and a host that is
down skipped. /metrics never leaves through the proxy, and a host's workers report one sum."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.conftest import SECRET
from tests.support import engines
from tests.support.forms import csrf_from
from tests.support.live_server import ROOT, FromAddress, LiveServer
from tests.support.nginx import Nginx, require_nginx

pytestmark = pytest.mark.postgresql_only

LOGIN_LIMIT = 3


@pytest.fixture(params=["gunicorn", "waitress"])
def proxied(request, app, tmp_path):
    """(nginx, [host, host]): both hosts trust one proxy and share rate limits through Redis.
    Hosts run as the systemd unit runs them (gunicorn) and as `flask serve` does (waitress)."""
    binary = require_nginx()
    redis_url = engines.require_redis()
    env = {
        "TRUSTED_PROXIES": "1",
        "REDIS_URL": redis_url,
        "RATELIMIT_ENABLED": "1",
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "LOGIN_RATE_LIMIT": f"{LOGIN_LIMIT} per 10 minutes",
    }
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    hosts, proxy = [], None
    try:
        for n in range(2):
            (tmp_path / f"host-{n}").mkdir()
            folder = str(tmp_path / f"host-{n}")
            # gunicorn's workers add up their metrics through files (prometheus_client's
            # multiprocess mode), as the web unit sets it up.
            host_env = {**env, "PROMETHEUS_MULTIPROC_DIR": f"{folder}/metrics"} if request.param == "gunicorn" else env
            hosts.append(LiveServer(url, SECRET, folder, threads=4, env=host_env, server=request.param))
        proxy = Nginx(binary, tmp_path / "nginx", [host.port for host in hosts])
        yield proxy, hosts
    finally:
        if proxy is not None:
            proxy.stop()
        for host in hosts:
            host.stop()


def _customer(proxy: Nginx, address: str) -> requests.Session:
    session = requests.Session()
    # Only the test's own certificate is trusted, and nothing from the environment (a CA bundle
    # variable would otherwise override it; a proxy variable would send loopback elsewhere).
    session.trust_env = False
    session.verify = str(proxy.cert)
    session.mount("https://", FromAddress(address))
    return session


def _failed_login(session: requests.Session, proxy: Nginx, forged: str | None = None) -> int:
    page = session.get(proxy.url + "/login", timeout=10)
    assert page.status_code == 200
    headers = {
        # nginx passes Host without the port (as on 443); a browser's Referer matches it there.
        "Referer": "https://127.0.0.1/login",
    }
    if forged:
        headers["X-Forwarded-For"] = forged
    answer = session.post(
        proxy.url + "/login",
        data={"login": "13800000000", "password": "wrong-password-1", "csrf_token": csrf_from(page.text)},
        headers=headers,
        timeout=10,
    )
    return answer.status_code


def test_pages_and_static_files_come_through_https_and_plain_http_is_sent_there(proxied):
    proxy, _hosts = proxied
    with _customer(proxy, "127.0.0.1") as session:
        page = session.get(proxy.url + "/login", timeout=10)
        assert page.status_code == 200 and "csrf_token" in page.text
        # HTTPS only from now on (HSTS from nginx), and the app's own headers come through.
        assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        assert page.headers["X-Frame-Options"] == "DENY" and page.headers["X-Content-Type-Options"] == "nosniff"

        script = session.get(proxy.url + "/static/js/counter.js", timeout=10)
        assert script.status_code == 200
        assert script.content == (ROOT / "app" / "static" / "js" / "counter.js").read_bytes()
        assert script.headers["Cache-Control"] == "no-cache"
        assert script.headers["Strict-Transport-Security"] == "max-age=31536000"
        assert script.headers["X-Content-Type-Options"] == "nosniff"

        plain = session.get(proxy.plain_url + "/login", allow_redirects=False, timeout=10)
        assert plain.status_code == 301
        assert plain.headers["Location"].startswith("https://") and plain.headers["Location"].endswith("/login")


def test_login_limits_count_each_customer_address_across_both_hosts(proxied):
    proxy, _hosts = proxied
    with _customer(proxy, "127.0.0.2") as first, _customer(proxy, "127.0.0.3") as second:
        # A client writing its own X-Forwarded-For gets nothing for it: the app takes the entry
        # nginx appended (its real address), so every attempt counts against 127.0.0.2.
        tries = [_failed_login(first, proxy, forged=f"203.0.113.{n}") for n in range(LOGIN_LIMIT)]
        assert tries == [422] * LOGIN_LIMIT
        assert _failed_login(first, proxy, forged="198.51.100.7") == 429
        # Another customer behind the same proxy is not locked out by the first one.
        assert _failed_login(second, proxy) == 422


def test_a_body_over_the_upload_limit_is_stopped_at_the_proxy(proxied):
    proxy, _hosts = proxied
    with _customer(proxy, "127.0.0.1") as session:
        answer = session.post(proxy.url + "/login", data=b"x" * (6 * 1024 * 1024), timeout=30)
    assert answer.status_code == 413
    assert "nginx" in answer.text  # nginx's own page: the app (which caps bodies at 1 MiB) never saw it


def test_a_host_that_is_down_is_skipped(proxied):
    proxy, hosts = proxied
    hosts[0].stop()
    with _customer(proxy, "127.0.0.1") as session:
        answers = [session.get(proxy.url + "/login", timeout=10).status_code for _ in range(6)]
    assert answers == [200] * 6


def test_metrics_stay_behind_the_proxy_while_the_probes_come_through(proxied):
    proxy, hosts = proxied
    with _customer(proxy, "127.0.0.1") as session:
        for path in ("/metrics", "/metrics/", "/%6detrics"):
            refused = session.get(proxy.url + path, timeout=10)
            assert refused.status_code == 404 and "nginx" in refused.text, path
        assert session.get(proxy.url + "/healthz", timeout=10).json() == {"status": "ok"}
        ready = session.get(proxy.url + "/readyz", timeout=10)
        assert ready.status_code == 200 and ready.json()["status"] == "ok"
    # Prometheus scrapes each host directly, from an allowed address (loopback by default).
    direct = requests.Session()
    direct.trust_env = False
    for _ in range(20):  # new connections, so that both gunicorn workers take some
        assert direct.get(hosts[0].url + "/healthz", headers={"Connection": "close"}, timeout=10).status_code == 200
    text = direct.get(hosts[0].url + "/metrics", timeout=10).text
    key = 'groupbuy_http_request_duration_seconds_count{endpoint="ops.healthz",method="GET",status="200"}'
    count = next(float(line.split()[-1]) for line in text.splitlines() if line.startswith(key))
    assert count >= 20  # every worker's requests, whichever worker answered the scrape
