"""Application factory: the one place that wires extensions, blueprints, CLI and scheduler."""

from __future__ import annotations

import logging
import os

from flask import Flask, request

from app import (
    cli,
    engine_in_use,
    errors,
    headers,
    jinja,
    jobs,
    metrics,
    models,  # noqa: F401  (registers every table on the metadata before Alembic looks)
)
from app.config import load_config
from app.engine import WRITES_LATE_ATTR, install_engine_hooks, sqlite_begin_mode
from app.extensions import babel, csrf, db, limiter, login_manager, migrate
from app.i18n import select_locale, select_timezone
from app.log_format import formatter
from app.services.accounts.sessions import user_for_key
from app.services.accounts.tokens import user_for_bearer

BLUEPRINTS = ("auth", "admin", "merchant", "leader", "pickup", "shop", "payments", "account", "api", "pwa", "ops")


# Endpoints that accept an upload, and the setting that caps their body; every other body is
# capped at MAX_CONTENT_LENGTH.
UPLOAD_LIMITS = {
    "shop.after_sales_open": "PHOTO_MAX_BYTES",
    "leader.after_sales_open": "PHOTO_MAX_BYTES",
    "merchant.products_import": "IMPORT_MAX_BYTES",
    "merchant.product_image": "PHOTO_MAX_BYTES",
}


def create_app(config: dict | None = None) -> Flask:
    instance_path = os.environ.get("INSTANCE_PATH") or None
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(load_config(app.instance_path, config))

    _configure_logging(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])
    install_engine_hooks(app.config["SQLITE_BUSY_TIMEOUT_MS"], app.config["SQLITE_BACKGROUND_CHECKPOINTS"])
    _mark_database_in_use(app.config["SQLALCHEMY_DATABASE_URI"])
    _trust_proxies(app)
    if app.config["METRICS_ENABLED"]:
        metrics.instrument(app)  # first of the request hooks, so it times the ones after it
    _init_extensions(app)

    @app.before_request
    def _choose_sqlite_begin_mode():
        read_only = request.method in ("GET", "HEAD", "OPTIONS")
        if read_only or not app.config["SQLITE_IMMEDIATE_WRITES"]:
            sqlite_begin_mode.set("DEFERRED")
        elif getattr(app.view_functions.get(request.endpoint), WRITES_LATE_ATTR, False):
            sqlite_begin_mode.set("WRITES_LATE")
        else:
            sqlite_begin_mode.set("IMMEDIATE")

    import importlib

    for name in BLUEPRINTS:
        module = importlib.import_module(f"app.blueprints.{name}")
        app.register_blueprint(module.bp)

    errors.register(app)
    headers.register(app)
    jinja.register(app)
    cli.register(app)

    if app.config["SCHEDULER_ENABLED"]:
        jobs.start_scheduler(app)
    return app


def _configure_logging(level: str, log_format: str = "text") -> None:
    """Our own loggers' lines (a long close's progress, jobs, the scheduler) on stderr, where
    gunicorn, systemd's journal and the CLI show them; Python drops INFO lines otherwise.

    The handler goes on the root logger, and only if nothing configured logging before (what
    logging.basicConfig does): waitress's serve() calls basicConfig() as well, so a handler of
    our own on the "app" logger printed each of our lines twice under `flask serve`."""

    if level:
        handler = logging.StreamHandler()
        handler.setFormatter(formatter(log_format))
        logging.basicConfig(handlers=[handler])
        logging.getLogger("app").setLevel(level.upper())


def _mark_database_in_use(url: str) -> None:
    """A SQLite file is marked in use from the moment a process builds the app on it, not only
    from its first connection: a web worker that has not served a request yet still counts for
    `flask restore` (app/engine_in_use.py)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and "mode=memory" not in url:
        engine_in_use.mark_in_use(parsed.database)


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES proxies, take the client's address, scheme and host from the
    X-Forwarded-* headers they set, so rate limits key on the customer, not on the proxy."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _init_extensions(app: Flask) -> None:

    db.init_app(app)
    migrate.init_app(
        app, db, render_as_batch=True, directory=os.path.join(os.path.dirname(app.root_path), "migrations")
    )

    @app.before_request
    def _allow_uploads():
        # Runs before CSRFProtect reads the form: only the upload endpoints take a big body.
        if request.endpoint in UPLOAD_LIMITS:
            request.max_content_length = app.config[UPLOAD_LIMITS[request.endpoint]] + 256 * 1024

    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # "basic", not "strong": "strong" signs a user out whenever their address or User-Agent
    # changes, which phones do all day (Wi-Fi to 4G, "desktop site"), and it protects little:
    # whoever can copy a cookie can copy a User-Agent. A copied cookie is stopped instead by
    # ending the sign-in server-side (services/accounts/sessions.py): logout, password change, deactivation.
    login_manager.session_protection = "basic"
    login_manager.id_attribute = "get_session_key"

    @login_manager.user_loader
    def load_user(key: str):
        # The cookies carry a sign-in's key (User.get_session_key), not the user id: one query
        # finds the user through a sign-in that has not ended (an old cookie's user id: nobody).

        return user_for_key(key)

    @login_manager.request_loader
    def load_user_from_token(request):

        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer ") and request.path.startswith("/api/"):
            return user_for_bearer(header.removeprefix("Bearer ").strip())
        return None
