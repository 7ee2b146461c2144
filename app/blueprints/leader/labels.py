"""Words for window, batch and order-line states on the leader's and the counter's pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.blueprints.shop.labels import event_actor, event_words, provider_label, status_label

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


def line_label(item, order) -> str:
    """An order line's state as its order stands: a confirmed line of a bag that has arrived is
    waiting for pickup, not "confirmed" (the order and its lines say the same)."""
    if item.status == "confirmed" and order.status in ("ready_for_pickup", "completed"):
        return status_label(order.status)
    return str(ITEM_STATUS_LABELS.get(item.status, item.status))


# The tabs of the leader's orders list (app.services.leader.leader_orders.TABS), in its words.
ORDER_TAB_LABELS = {
    "pending_payment": _l("Awaiting payment"),
    "paid": _l("Paid"),
    "confirmed": _l("Confirmed"),
    "ready_for_pickup": _l("Ready for pickup"),
    "completed": _l("Collected"),
    "closed": _l("Cancelled / failed / refunded"),
}


def labels() -> dict:
    """Template helpers, shared by the leader and pickup blueprints."""
    return {
        "status_label": status_label,
        "window_status_label": lambda s: str(WINDOW_STATUS_LABELS.get(s, s)),
        "batch_status_label": lambda s: str(BATCH_STATUS_LABELS.get(s, s)),
        "item_status_label": lambda s: str(ITEM_STATUS_LABELS.get(s, s)),
        "line_label": line_label,
        "event_words": event_words,
        "event_actor": event_actor,
        "provider_label": provider_label,
    }
