"""One decorator family for HTML and JSON: pages redirect to login, the API answers JSON."""

from __future__ import annotations

from functools import wraps

from flask import g, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.permissions import leader_of, membership_of, staff_point_ids
from app.services.accounts import merchant_team


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _refuse(status: int, code: str, message: str):
    if wants_json():
        return jsonify({"error": {"code": code, "message": message}}), status
    if status == 401:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    from flask import render_template

    return render_template("errors/error.html", status=status, message=message), status


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return _refuse(401, "unauthorized", _("Please log in."))
        return view(*args, **kwargs)

    return wrapper


def _role_required(check):
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return _refuse(401, "unauthorized", _("Please log in."))
            if not check():
                return _refuse(403, "forbidden", _("You do not have permission to do that."))
            return view(*args, **kwargs)

        return login_required(wrapper)

    return decorator


def _is_admin() -> bool:
    return bool(current_user.is_admin)


def _is_merchant() -> bool:
    g.membership = membership_of(current_user)
    g.merchant = g.membership.merchant if g.membership else None
    return g.membership is not None


def _is_merchant_owner() -> bool:
    return _is_merchant() and g.membership.role == "owner"


def _is_leader() -> bool:
    g.leader = leader_of(current_user)
    return g.leader is not None


def _is_staff() -> bool:
    g.point_ids = staff_point_ids(current_user)
    return bool(g.point_ids)


# The merchant area a view needs, recorded on it for the URL-map permission test.
AREA_ATTR = "_merchant_area"


def merchant_area_required(area: str):
    """A member of a merchant allowed `area` (services/accounts/merchant_team.py); others get 403."""

    if area not in merchant_team.AREAS:
        raise ValueError(f"unknown merchant area {area!r}")

    def check() -> bool:
        return _is_merchant() and merchant_team.can(g.membership, area)

    def decorator(view):
        guarded = _role_required(check)(view)
        setattr(guarded, AREA_ATTR, area)
        return guarded

    return decorator


admin_required = _role_required(_is_admin)
merchant_required = _role_required(_is_merchant)
_owner_only = _role_required(_is_merchant_owner)


def merchant_owner_required(view):
    """The merchant's owner alone (the team page); recorded as the area "owner"."""
    guarded = _owner_only(view)
    setattr(guarded, AREA_ATTR, "owner")
    return guarded


leader_required = _role_required(_is_leader)
staff_required = _role_required(_is_staff)
