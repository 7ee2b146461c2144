"""Locale and zone choice for Flask-Babel. Simplified Chinese first, English beside it."""

from __future__ import annotations

from flask import current_app, has_request_context, request
from flask_login import current_user

SUPPORTED = ("zh", "en")


def select_locale() -> str:
    if not has_request_context():  # CLI, jobs, tests outside a request
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    asked = request.args.get("lang") or request.cookies.get("lang")
    if asked in SUPPORTED:
        return asked
    if current_user and current_user.is_authenticated and current_user.locale in SUPPORTED:
        return current_user.locale
    header = request.headers.get("Accept-Language")
    if header:
        best = request.accept_languages.best_match(SUPPORTED)
        if best:
            return best
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["TIMEZONE"]
