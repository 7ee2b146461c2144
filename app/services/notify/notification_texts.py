"""Notification texts that are translated for whoever reads them, not for whoever caused them.

A service queues `message(N_("Goods arrived at %(point)s"), point=...)`: the message id and its
values go into the outbox, and each delivery renders them in its reader's language (the user's
saved locale, else the deployment's default; group-chat robots use the default). `N_` only marks
the text for `make messages`. A plain string is kept as it is.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

# What each notification kind is called in the settings page; the kinds the services enqueue.
EVENTS: dict[str, object] = {
    "window_open": _l("Group buy opened"),
    "window_closing": _l("Group buy closing soon"),
    "window_closed": _l("Group buy closed"),
    "batch_dispatched": _l("Delivery on the way"),
    "batch_arrived": _l("Delivery arrived"),
    "stock_alert": _l("Stock alert"),
    "uncollected": _l("Bags not collected"),
    "after_sales": _l("After-sales requests"),
    "offline_conflict": _l("Offline hand-over conflict"),
    "channel_test": _l("Test message"),
}


def N_(msgid: str) -> str:  # noqa: N802 - gettext's conventional name for "mark only"
    return msgid


def message(msgid: str, **params) -> dict:
    """A text to translate at delivery: its message id and the values for its placeholders."""
    return {"msgid": msgid, "params": params}


def render(text, locale: str | None = None) -> str:
    """The text in `locale` (the deployment's default when None)."""
    if isinstance(text, dict) and "msgid" in text:
        with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            return gettext(text["msgid"], **(text.get("params") or {}))
    return str(text or "")
