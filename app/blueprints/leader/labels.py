"""Words for window, batch and order-line states on the leader's and the counter's pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.blueprints.shop.labels import status_label

WINDOW_STATUS_LABELS = {
    "draft": _l("Draft"),
    "scheduled": _l("Scheduled"),
    "open": _l("Open"),
    "closed": _l("Closed"),
    "settled": _l("Settled"),
}
BATCH_STATUS_LABELS = {
    "created": _l("Created"),
    "picking": _l("Picking"),
    "dispatched": _l("On the way"),
    "arrived": _l("Arrived"),
    "done": _l("Done"),
}
ITEM_STATUS_LABELS = {
    "reserved": _l("Reserved"),
    "cancelled": _l("Cancelled"),
    "failed": _l("Group not formed"),
    "confirmed": _l("Confirmed"),
    "redeemed": _l("Collected"),
}


def labels() -> dict:
    """Template helpers, shared by the leader and pickup blueprints."""
    return {
        "status_label": status_label,
        "window_status_label": lambda s: str(WINDOW_STATUS_LABELS.get(s, s)),
        "batch_status_label": lambda s: str(BATCH_STATUS_LABELS.get(s, s)),
        "item_status_label": lambda s: str(ITEM_STATUS_LABELS.get(s, s)),
    }
