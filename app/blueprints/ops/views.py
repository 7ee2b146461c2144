"""/healthz, /readyz and /metrics.

The probes are public and say only each check's name and ok/fail: no versions, paths or error
texts (those go to the log). /metrics answers only a configured address or the bearer token,
and looks like any missing page (404) to everyone else.
"""

from __future__ import annotations

import hmac
import ipaddress
from datetime import timedelta

from alembic.script import ScriptDirectory
from flask import Flask, abort, current_app, jsonify, request

from app import metrics
from app.blueprints.ops import bp
from app.jobs import JOBS
from app.services.core import clock
from app.services.ops import health

_HEADS_KEY = "groupbuy_migration_heads"
_STARTED_KEY = "groupbuy_started_at"
# A request that came through a proxy carries one of these; the address rule is for direct
# scrapes only (through nginx every request would come from nginx's own address).
_FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


@bp.record_once
def _on_register(state) -> None:
    app = state.app
    allowed_networks(app.config["METRICS_ALLOWED_ADDRESSES"])  # a typo stops the start, not a scrape
    app.extensions[_STARTED_KEY] = clock.now()


def allowed_networks(setting: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        return [ipaddress.ip_network(part.strip(), strict=False) for part in setting.split(",") if part.strip()]
    except ValueError as exc:
        raise ValueError(f"METRICS_ALLOWED_ADDRESSES: {exc}") from None


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz():
    """The process is up and answering; touches nothing else."""
    return _no_store(jsonify({"status": "ok"}))


def _migration_heads(app: Flask) -> frozenset[str]:
    """This release's Alembic heads, read once per process (the code cannot change under it)."""
    heads = app.extensions.get(_HEADS_KEY)
    if heads is None:
        config = app.extensions["migrate"].migrate.get_config()
        heads = app.extensions[_HEADS_KEY] = frozenset(ScriptDirectory.from_config(config).get_heads())
    return heads


def _rules(app: Flask) -> health.ReadinessRules:

    return health.ReadinessRules(
        migration_heads=_migration_heads(app),
        job_ids=tuple(JOBS),
        scheduler_stale=timedelta(seconds=app.config["READY_SCHEDULER_STALE_SECONDS"]),
        outbox_max_age=timedelta(seconds=app.config["READY_OUTBOX_MAX_AGE_SECONDS"]),
        started_at=app.extensions[_STARTED_KEY],
    )


@bp.get("/readyz")
def readyz():
    """200 when every check passes, else 503; `?check=database&check=migrations` asks only those
    (a load balancer may want only this host's own checks, see the README)."""
    asked = request.args.getlist("check") or list(health.CHECKS)
    if any(name not in health.CHECKS for name in asked):
        return _no_store(jsonify({"status": "fail", "error": "unknown check", "checks": list(health.CHECKS)})), 400
    app = current_app._get_current_object()
    results = health.readiness(_rules(app), only=asked)
    ready = all(results.values())
    body = {"status": "ok" if ready else "fail", "checks": {k: "ok" if v else "fail" for k, v in results.items()}}
    return _no_store(jsonify(body)), 200 if ready else 503


def _token_ok(header: str) -> bool | None:
    """True/False for a bearer token checked against METRICS_TOKEN; None when none is in play."""
    expected = current_app.config["METRICS_TOKEN"]
    scheme, _sep, value = header.partition(" ")
    if not expected or scheme.lower() != "bearer":
        return None
    return hmac.compare_digest(value.strip().encode(), expected.encode())


def _address_ok() -> bool:
    if any(name in request.headers for name in _FORWARDING_HEADERS) or not request.remote_addr:
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr.split("%")[0])
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in net for net in allowed_networks(current_app.config["METRICS_ALLOWED_ADDRESSES"]))


@bp.get("/metrics", endpoint="metrics")
def metrics_view():
    if not current_app.config["METRICS_ENABLED"]:
        abort(404)
    token = _token_ok(request.headers.get("Authorization", ""))
    # A token, when sent, must be right (a wrong one is refused even from an allowed address).
    if not (token if token is not None else _address_ok()):
        abort(404)

    response = current_app.response_class(metrics.exposition(tuple(JOBS)), mimetype="text/plain")
    response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
    return _no_store(response)
