"""Template filters and globals shared by every blueprint.

Money, dates and relative times follow the reader's locale (Babel's CLDR data) and the
deployment's time zone: 2026年12月1日 10:05 / ¥12.30 / 3小时前 in Chinese, Dec 1, 2026 10:05 /
CN¥12.30 / 3 hours ago in English. Outside a request (jobs, CLI) the deployment default applies.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_datetime, format_timedelta, match_skeleton
from babel.numbers import parse_pattern
from flask import Flask
from flask_babel import get_locale
from flask_login import current_user

from app.blueprints.shop import labels
from app.permissions import roles_of
from app.services.core import clock
from app.services.core.text import mask_name, mask_phone
from app.services.notify.notifications import unread_count


def _locale():
    return get_locale() or "zh"


# Babel parses the locale, and the pattern a skeleton or format names, on every call; a report
# page formats a few hundred amounts, rates and dates, so the parsed ones are kept.
@lru_cache(maxsize=16)
def _parsed_locale(locale: str) -> Locale:
    return Locale.parse(locale)


@lru_cache(maxsize=16)
def _currency_pattern(locale: str):
    return _parsed_locale(locale).currency_formats["standard"]


_PERCENT = parse_pattern("#,##0.0%")  # one decimal in every locale; the locale gives the symbols


@lru_cache(maxsize=64)
def _skeleton_pattern(skeleton: str, locale: str) -> str:
    parsed = _parsed_locale(locale)
    return parsed.datetime_skeletons[match_skeleton(skeleton, parsed.datetime_skeletons)].pattern


def local_yuan(fen: int | None) -> str:
    """Integer fen as the locale writes renminbi; exact (Decimal, never a float)."""
    if fen is None:
        return ""
    locale = str(_locale())
    return _currency_pattern(locale).apply(Decimal(int(fen)) / 100, _parsed_locale(locale), currency="CNY")


def local_percent(basis_points: int | None) -> str:
    """A rate kept as integer basis points (1234 → 12.3%), in the locale's style; "—" when undefined."""
    if basis_points is None:
        return "—"
    locale = str(_locale())
    return _PERCENT.apply(Decimal(int(basis_points)) / 10_000, _parsed_locale(locale))


def _skeleton(skeleton: str, moment: datetime, locale: str) -> str:
    return format_datetime(moment, _skeleton_pattern(skeleton, locale), locale=_parsed_locale(locale))


def local_datetime(value: datetime | None, skeleton: str = "yMMMd") -> str:
    """A UTC instant as a date (CLDR skeleton, e.g. "yMMMd" or "MMMd") and 24-hour time in the
    deployment's zone; skeleton "date" gives the date alone."""
    if value is None:
        return ""
    local, locale = clock.to_local(value), str(_locale())
    if skeleton == "date":
        return _skeleton("yMMMd", local, locale)
    return f"{_skeleton(skeleton, local, locale)} {_skeleton('Hm', local, locale)}"


def relative_time(value: datetime | None) -> str:
    """How long ago (or how far ahead) an instant is: "3小时前", "in 2 days"."""
    if value is None:
        return ""
    return format_timedelta(value - clock.now(), add_direction=True, threshold=0.9, locale=_locale())


def register(app: Flask) -> None:
    app.jinja_env.filters["yuan"] = local_yuan
    app.jinja_env.filters["localtime"] = local_datetime
    app.jinja_env.filters["ago"] = relative_time
    app.jinja_env.filters["percent"] = local_percent
    # The value a datetime-local input shows: wall-clock time in the deployment's zone.
    app.jinja_env.filters["localinput"] = lambda v: clock.to_local(v).strftime("%Y-%m-%dT%H:%M") if v else ""
    app.jinja_env.filters["mask_phone"] = mask_phone
    app.jinja_env.filters["mask_name"] = mask_name
    # An absolute address on the public site (link previews need one: og:image, og:url).
    app.jinja_env.globals["public_url"] = lambda path: app.config["PUBLIC_BASE_URL"].rstrip("/") + path
    # When a page was drawn: a copy kept for offline use says how old its figures are.
    app.jinja_env.globals["rendered_at"] = clock.now

    # Words for after-sales and refund states, shown by the shop, leader and merchant pages alike.
    app.jinja_env.globals.update(
        after_sales_reason=labels.after_sales_reason,
        after_sales_status=labels.after_sales_status,
        refund_reason=labels.refund_reason,
        refund_status=labels.refund_status,
    )

    @app.context_processor
    def inject_globals():

        roles = roles_of(current_user) if current_user.is_authenticated else set()
        unread = unread_count(current_user.id) if current_user.is_authenticated else 0
        return {"user_roles": roles, "unread_notifications": unread, "locale": str(_locale())}
