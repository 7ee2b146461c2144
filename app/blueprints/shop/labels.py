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
