"""How an /api/ request authenticates: a Bearer token, or the session cookie plus CSRF header.

A request that presents a Bearer token is authenticated by that token alone, even if the
client also sends a session cookie, and never creates or refreshes a session cookie.
"""

from __future__ import annotations

from flask import Flask, Request, current_app, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.api import bp
from app.extensions import csrf, login_manager
from app.services.accounts.tokens import user_for_bearer

# Flask-WTF's default WTF_CSRF_METHODS: the writes a session must prove with the CSRF header.
CSRF_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def bearer_token(req: Request) -> str | None:
    """The token of an `Authorization: Bearer ...` header on an /api/ path, else None."""
    if not req.path.startswith("/api/"):
        return None
    scheme, _sep, value = req.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip()


class HeaderAuthSessionInterface(SecureCookieSessionInterface):
    """Cookie sessions, except that header-authenticated requests never write one back."""

    def save_session(self, app: Flask, session, response) -> None:
        # Decided from the request itself, not from `g`, so nothing set earlier can leak in.
        if bearer_token(request) is not None:
            return
        super().save_session(app, session, response)


@bp.record_once
def _install_session_interface(state) -> None:
    if type(state.app.session_interface) is SecureCookieSessionInterface:
        state.app.session_interface = HeaderAuthSessionInterface()


def _view_is_csrf_exempt() -> bool:
    """Honour `@csrf.exempt` on a single API view (public customer writes that carry no login).

    The blueprint itself is exempt so that this hook decides; CSRFProtect keeps exempted
    views in a set keyed by module and name, which is what is checked here.
    """
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:
        return False
    return f"{view.__module__}.{view.__name__}" in getattr(csrf, "_exempt_views", set())


def _unauthorized():
    response = jsonify({"error": {"code": "unauthorized", "message": _("Please log in.")}})
    response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response, 401


@bp.before_request
def authenticate_request():
    token = bearer_token(request)
    if token is None:
        if _view_is_csrf_exempt():
            return None
        # No token and no logged-in session: there is no credential for a forged request to
        # ride on, so the honest answer is "log in" (401), not "CSRF failed" (400). A session
        # (or remember-me cookie) that does log someone in still needs the CSRF header.
        if request.method in current_app.config.get("WTF_CSRF_METHODS", CSRF_METHODS) and (
            not current_user.is_authenticated
        ):
            return _unauthorized()
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()
        return None
    user = user_for_bearer(token)
    if user is None:
        response = jsonify({"error": {"code": "invalid_token", "message": _("The API token is invalid or revoked.")}})
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response, 401
    # The token decides who this is, even over a session cookie sent alongside it
    # (Flask-Login would otherwise prefer the session and never consult the token).
    login_manager._update_request_context_with_user(user)
    return None


@bp.after_request
def _no_store(response):
    # Answers carry personal data or depend on the credential; shared caches must not keep them.
    response.headers.setdefault("Cache-Control", "no-store")
    return response
