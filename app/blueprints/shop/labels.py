"""Customer-facing words for order states and payment methods."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ORDER_STATUS_LABELS = {
    "pending_payment": _l("Awaiting payment"),
    "paid": _l("Paid"),
    "confirmed": _l("Confirmed"),
    "ready_for_pickup": _l("Ready for pickup"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
    "failed": _l("Group not formed"),
    "refunded": _l("Refunded"),
}

PROVIDER_LABELS = {
    "simulator": _l("Pay online"),
    "offline": _l("Pay the leader in the group chat"),
}


def status_label(status: str) -> str:
    return str(ORDER_STATUS_LABELS.get(status, status))


def provider_label(name: str) -> str:
    return str(PROVIDER_LABELS.get(name, name))


AFTER_SALES_REASON_LABELS = {
    "quality": _l("Quality problem"),
    "wrong_item": _l("Wrong item"),
    "missing": _l("Missing from the bag"),
}
AFTER_SALES_STATUS_LABELS = {
    "open": _l("Waiting for the merchant"),
    "approved": _l("Refunded"),
    "rejected": _l("Rejected"),
}


def after_sales_reason(reason: str) -> str:
    return str(AFTER_SALES_REASON_LABELS.get(reason, reason))


def after_sales_status(status: str) -> str:
    return str(AFTER_SALES_STATUS_LABELS.get(status, status))


REFUND_REASON_LABELS = {
    "shortage": _l("Not delivered"),
    "group_failed": _l("Group not formed"),
    "late_payment": _l("Paid after cancellation"),
    "customer_cancelled": _l("Cancelled by the customer"),
    "after_sales": _l("After-sales"),
}
REFUND_STATUS_LABELS = {"succeeded": _l("Paid back"), "pending": _l("To pay back by hand")}


def refund_reason(reason: str) -> str:
    return str(REFUND_REASON_LABELS.get(reason, reason))


def refund_status(status: str) -> str:
    return str(REFUND_STATUS_LABELS.get(status, status))


# ---- an order's story in plain words (the customer's timeline, the leader's history)

STEP_LABELS = {
    "placed": _l("Order placed"),
    "paid": _l("Paid"),
    "closed": _l("Group buy cut off"),
    "arrived": _l("Arrived at the pickup point"),
    "collected": _l("Collected"),
    "cancelled": _l("Cancelled"),
    "failed": _l("Group not formed · refunded"),
    "refunded": _l("Nothing arrived · refunded"),
}
# Where each status stands on the way: the steps it has done.
_DONE = {
    "pending_payment": 1,
    "paid": 2,
    "confirmed": 3,
    "ready_for_pickup": 4,
    "completed": 5,
    "cancelled": None,
    "failed": 2,
    "refunded": 3,
}


def order_steps(order) -> list[dict]:
    """The customer's timeline (已下单 → 已支付 → 已截单 → 已到货 → 已提货): each step's words, its
    time when known, and whether it is done, the current one, still to come, or how it ended."""
    times = [order.created_at, order.paid_at, order.confirmed_at, order.arrived_at, order.completed_at]
    keys = ["placed", "paid", "closed", "arrived", "collected"]
    done = _DONE.get(order.status)
    if order.status == "cancelled":
        done = 2 if order.paid_at else 1
    steps = []
    for n, (key, at) in enumerate(zip(keys, times, strict=True)):
        if order.status in ("cancelled", "failed", "refunded") and n >= done:
            break
        state = "done" if n < done else "current" if n == done else "todo"
        steps.append({"key": key, "label": str(STEP_LABELS[key]), "at": at if n < done else None, "state": state})
    if order.status in ("cancelled", "failed", "refunded"):
        at = order.cancelled_at if order.status == "cancelled" else None
        steps.append({"key": order.status, "label": str(STEP_LABELS[order.status]), "at": at, "state": "ended"})
    return steps


_ACTOR_LABELS = {"customer": _l("the customer"), "system": _l("the system"), "provider": _l("the payment service")}


def event_words(event) -> str:
    """One entry of an order's history in plain words, without internal names."""
    source, target, reason = event.from_status, event.to_status, event.reason or ""
    if source is None:
        return str(STEP_LABELS["placed"])
    if source == target:
        return str(_l("After-sales request refunded") if "approved" in reason else _l("After-sales request rejected"))
    if target == "cancelled":
        if reason == "unpaid at cut-off":
            return str(_l("Cancelled: not paid by the cut-off"))
        return str(_l("Cancelled by the customer") if event.actor == "customer" else STEP_LABELS["cancelled"])
    if target == "ready_for_pickup" and source == "completed":
        return str(_l("Hand-over undone; the bag waits again"))
    words = {
        "paid": STEP_LABELS["paid"],
        "confirmed": _l("Group buy closed; order confirmed"),
        "failed": STEP_LABELS["failed"],
        "ready_for_pickup": STEP_LABELS["arrived"],
        "refunded": STEP_LABELS["refunded"],
        "completed": STEP_LABELS["collected"],
    }
    return str(words.get(target, status_label(target)))


def event_actor(event) -> str:
    """Who made the entry, in words: the customer, the system, the payment service, or staff."""
    kind = (event.actor or "").split(":", 1)[0]
    return str(_ACTOR_LABELS.get(kind, _l("staff")))
