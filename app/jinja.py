"""Template filters and globals shared by every blueprint.

Money, dates and relative times follow the reader's locale (Babel's CLDR data) and the
deployment's time zone: 2026年12月1日 10:05 / ¥12.30 / 3小时前 in Chinese, Dec 1, 2026 10:05 /
CN¥12.30 / 3 hours ago in English. Outside a request (jobs, CLI) the deployment default applies.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from babel.dates import format_skeleton, format_timedelta
from babel.numbers import format_currency
from flask import Flask
from flask_babel import get_locale
from flask_login import current_user

from app.services import clock
from app.services.text import mask_name, mask_phone


def _locale():
    return get_locale() or "zh"


def local_yuan(fen: int | None) -> str:
    """Integer fen as the locale writes renminbi; exact (Decimal, never a float)."""
    if fen is None:
        return ""
    return format_currency(Decimal(int(fen)) / 100, "CNY", locale=_locale())


def local_datetime(value: datetime | None, skeleton: str = "yMMMd") -> str:
    """A UTC instant as a date (CLDR skeleton, e.g. "yMMMd" or "MMMd") and 24-hour time in the
    deployment's zone; skeleton "date" gives the date alone."""
    if value is None:
        return ""
    local = clock.to_local(value)
    if skeleton == "date":
        return format_skeleton("yMMMd", local, locale=_locale())
    return f"{format_skeleton(skeleton, local, locale=_locale())} {format_skeleton('Hm', local, locale=_locale())}"


def relative_time(value: datetime | None) -> str:
    """How long ago (or how far ahead) an instant is: "3小时前", "in 2 days"."""
    if value is None:
        return ""
    return format_timedelta(value - clock.now(), add_direction=True, threshold=0.9, locale=_locale())


def register(app: Flask) -> None:
    app.jinja_env.filters["yuan"] = local_yuan
    app.jinja_env.filters["localtime"] = local_datetime
    app.jinja_env.filters["ago"] = relative_time
    # The value a datetime-local input shows: wall-clock time in the deployment's zone.
    app.jinja_env.filters["localinput"] = lambda v: clock.to_local(v).strftime("%Y-%m-%dT%H:%M") if v else ""
    app.jinja_env.filters["mask_phone"] = mask_phone
    app.jinja_env.filters["mask_name"] = mask_name

    from app.blueprints.shop import labels

    # Words for after-sales and refund states, shown by the shop, leader and merchant pages alike.
    app.jinja_env.globals.update(
        after_sales_reason=labels.after_sales_reason,
        after_sales_status=labels.after_sales_status,
        refund_reason=labels.refund_reason,
        refund_status=labels.refund_status,
    )

    @app.context_processor
    def inject_globals():
        from app.permissions import roles_of
        from app.services.notifications import unread_count

        roles = roles_of(current_user) if current_user.is_authenticated else set()
        unread = unread_count(current_user.id) if current_user.is_authenticated else 0
        return {"user_roles": roles, "unread_notifications": unread, "locale": str(_locale())}
