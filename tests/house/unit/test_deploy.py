"""Production wiring: the client address behind a proxy (TRUSTED_PROXIES) and the gunicorn settings.

Engine-free: the proxy tests build their own app over an in-memory database and never query it.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from flask import request

from app import create_app
from app.extensions import limiter

CONF = Path(__file__).resolve().parents[3] / "deploy" / "gunicorn.conf.py"


def _app_with_probe(tmp_path, monkeypatch, **config):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    app = create_app(
        {"DATABASE_URL": "sqlite://", "SECRET_KEY": "test", "SCHEDULER_ENABLED": False, "TESTING": True, **config}
    )

    # A route limited like the order and login endpoints: by client address.
    @app.get("/probe-address")
    @limiter.limit("2 per minute")
    def probe_address():
        return request.remote_addr

    return app.test_client()


def _get(client, forwarded_for: str):
    return client.get("/probe-address", headers={"X-Forwarded-For": forwarded_for})


def test_behind_one_proxy_each_customer_has_its_own_rate_limit(tmp_path, monkeypatch):
    client = _app_with_probe(tmp_path, monkeypatch, TRUSTED_PROXIES=1)

    first = _get(client, "203.0.113.7")
    assert first.text == "203.0.113.7"
    assert _get(client, "203.0.113.7").status_code == 200
    assert _get(client, "203.0.113.7").status_code == 429
    # Another customer behind the same nginx is not held back by the first one's requests.
    assert _get(client, "198.51.100.9").status_code == 200


def test_a_forged_forwarded_address_is_not_trusted(tmp_path, monkeypatch):
    client = _app_with_probe(tmp_path, monkeypatch, TRUSTED_PROXIES=1)

    # nginx appends the address it saw; what the client put before it is not believed.
    assert _get(client, "10.9.9.9, 203.0.113.7").text == "203.0.113.7"
    assert _get(client, "10.8.8.8, 203.0.113.7").status_code == 200
    assert _get(client, "10.7.7.7, 203.0.113.7").status_code == 429


def test_without_trusted_proxies_the_header_is_ignored(tmp_path, monkeypatch):
    client = _app_with_probe(tmp_path, monkeypatch)

    assert _get(client, "203.0.113.7").text == "127.0.0.1"
    _get(client, "198.51.100.1")
    # A client cannot dodge its limit by sending a new X-Forwarded-For each time.
    assert _get(client, "198.51.100.2").status_code == 429


@pytest.fixture
def gunicorn_settings(monkeypatch):
    def load(**env) -> dict:
        for name in ("GUNICORN_BIND", "GUNICORN_WORKERS", "WEB_CONCURRENCY", "GUNICORN_THREADS"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv("GUNICORN_CONTROL_SOCKET", raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(CONF))

    return load


def test_gunicorn_workers_never_start_the_scheduler(gunicorn_settings):
    settings = gunicorn_settings(SCHEDULER_ENABLED="1")

    assert "SCHEDULER_ENABLED=0" in settings["raw_env"]
    assert settings["wsgi_app"] == "app:create_app()"
    assert settings.get("preload_app", False) is False


def test_gunicorn_settings_come_from_the_environment(gunicorn_settings):
    defaults = gunicorn_settings()
    assert defaults["bind"] == ["127.0.0.1:8000"]
    assert defaults["workers"] >= 2
    assert (defaults["worker_class"], defaults["threads"]) == ("gthread", 4)
    assert defaults["control_socket_disable"] is True

    chosen = gunicorn_settings(
        GUNICORN_BIND="10.0.0.5:8000",
        GUNICORN_WORKERS="6",
        GUNICORN_THREADS="2",
        GUNICORN_CONTROL_SOCKET="/run/groupbuy/gunicorn.ctl",
    )
    assert (chosen["bind"], chosen["workers"], chosen["threads"]) == (["10.0.0.5:8000"], 6, 2)
    assert (chosen["control_socket_disable"], chosen["control_socket"]) == (False, "/run/groupbuy/gunicorn.ctl")


def test_gunicorn_start_drops_metrics_files_of_processes_that_are_gone(gunicorn_settings, tmp_path):
    import os
    import subprocess

    folder = tmp_path / "metrics"
    settings = gunicorn_settings(PROMETHEUS_MULTIPROC_DIR=str(folder))
    gone = subprocess.Popen(["true"])  # noqa: S607 - a process that has ended, for its pid
    gone.wait()
    settings["on_starting"](None)  # makes the folder
    (folder / f"counter_{gone.pid}.db").write_bytes(b"")
    (folder / f"histogram_{os.getpid()}.db").write_bytes(b"")  # a live process's (a scheduler's)
    settings["on_starting"](None)
    assert [p.name for p in folder.iterdir()] == [f"histogram_{os.getpid()}.db"]
