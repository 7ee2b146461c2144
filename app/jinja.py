"""Template filters and globals shared by every blueprint."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_babel import get_locale
from flask_login import current_user

from app.services.clock import to_local
from app.services.text import format_yuan, mask_name, mask_phone


def _localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return to_local(value).strftime(fmt)


def register(app: Flask) -> None:
    app.jinja_env.filters["yuan"] = format_yuan
    app.jinja_env.filters["localtime"] = _localtime
    app.jinja_env.filters["mask_phone"] = mask_phone
    app.jinja_env.filters["mask_name"] = mask_name

    @app.context_processor
    def inject_globals():
        from app.permissions import roles_of
        from app.services.notifications import unread_count

        roles = roles_of(current_user) if current_user.is_authenticated else set()
        unread = unread_count(current_user.id) if current_user.is_authenticated else 0
        return {"user_roles": roles, "unread_notifications": unread, "locale": str(get_locale())}
