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
