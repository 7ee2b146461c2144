"""HTTP error handling: every failure is a clear 4xx page or JSON body, never a bare 500."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app import metrics
from app.blueprints.access import wants_json
from app.extensions import db
from app.services.core.errors import DomainError, NotFound

log = logging.getLogger(__name__)


def _respond(status: int, code: str, message: str, extra: dict | None = None, headers: list | None = None):
    if wants_json():
        body = {"code": code, "message": message}
        body.update(extra or {})
        return jsonify({"error": body}), status, headers or []
    return render_template("errors/error.html", status=status, message=message), status, headers or []


# Ids are INTEGER columns; one past their range is simply not found. Unchecked, SQLite cannot
# bind it and PostgreSQL overflows — both a 500. A converter with max= would instead make
# Werkzeug answer 405 for the sibling methods of the rule.
MAX_ID = 2**31 - 1


def register(app: Flask) -> None:
    @app.url_value_preprocessor
    def ids_in_range(endpoint, values):  # noqa: ARG001
        if values and any(isinstance(v, int) and not 0 <= v <= MAX_ID for v in values.values()):
            raise NotFound()

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()
        if wants_json():
            return jsonify(exc.to_dict()), exc.status
        return render_template("errors/error.html", status=exc.status, message=exc.message), exc.status

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):  # noqa: ARG001
        return _respond(
            400, "csrf_failed", _("The form expired or was not sent from this site. Reload the page and try again.")
        )

    @app.errorhandler(429)
    def rate_limited(exc):  # noqa: ARG001
        if app.config["METRICS_ENABLED"]:
            metrics.count_rate_limited()
        return _respond(429, "rate_limited", _("Too many attempts. Please wait a few minutes and try again."))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        messages = {
            404: _("Not found."),
            405: _("That method is not allowed here."),
            413: _("The request is too large."),
        }
        # The exception's own headers (a 405's Allow, a 401's WWW-Authenticate) stay on our body.
        headers = [(name, value) for name, value in exc.get_headers() if name.lower() != "content-type"]
        code = exc.name.lower().replace(" ", "_")
        return _respond(exc.code or 500, code, messages.get(exc.code, exc.description), headers=headers)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):  # noqa: ARG001 - logged via log.exception
        db.session.rollback()
        log.exception("unhandled error")
        return _respond(500, "internal_error", _("Something went wrong on our side; nothing was changed."))
