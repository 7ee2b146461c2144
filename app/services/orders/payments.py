"""Money in and out of orders: record payments (webhook, simulator, offline), refund, never lose money.

`record_payment` and the refunds (`refund_lines`, `refund`, `refund_everything_left`) run in the
caller's transaction and do NOT commit, so the close job and arrival code can refund inside their
own unit of work; the entry points a request calls (`handle_simulator_webhook`, `simulator_pay`,
`mark_paid_offline`) commit.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime

from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Leader, Order, Payment, Refund, User
from app.services.core import audit, clock
from app.services.core.errors import (
    AmountMismatch,
    BadSignature,
    DomainError,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from app.services.orders import lifecycle, refunds
from app.services.orders.order_links import get_order_by_token
from app.services.orders.payment_providers import (
    PaymentProvider,
    enabled_names,
    get_provider,
    sign_simulator_body,
    simulator_signature_ok,
)

__all__ = [
    "PaymentProvider",
    "enabled_providers",
    "get_provider",
    "handle_simulator_webhook",
    "mark_paid_offline",
    "record_payment",
    "refund",
    "refund_everything_left",
    "refund_lines",
    "simulator_pay",
    "start_payment",
]

MAX_OFFLINE_BATCH = 200


def enabled_providers() -> list[str]:
    return enabled_names()


def start_payment(order: Order) -> str | None:
    """Where to send the customer after placing the order (None: pay the leader in the chat)."""
    return get_provider(order.payment_provider).start(order)


# ---- recording payments


def record_payment(order: Order, provider: str, provider_ref: str, amount_fen: int, recorded_by: str) -> Payment:
    """Record money received for an order, once per (provider, provider_ref); caller commits.

    A pending order becomes paid. Money for an order that is no longer waiting for it (cancelled,
    failed, or already paid under another reference) is kept as a late payment and refunded.
    """
    payment, is_new = _store_payment(order, provider, provider_ref, amount_fen, recorded_by)
    if not is_new:
        return payment
    now = clock.now()
    became_paid = lifecycle.move(
        order,
        "pending_payment",
        "paid",
        recorded_by,
        reason="payment",
        detail={"provider": provider, "provider_ref": provider_ref},
        at=now,
        paid_fen=Order.paid_fen + amount_fen,
        paid_at=now,
    )
    if not became_paid:
        _refund_late(order, payment, amount_fen, recorded_by)
        return payment
    audit.record(
        recorded_by,
        "payment_recorded",
        "order",
        order.id,
        payment_id=payment.id,
        provider=provider,
        provider_ref=provider_ref,
        amount_fen=amount_fen,
    )
    db.session.expire(order)
    return payment


def _store_payment(order: Order, provider: str, provider_ref: str, amount_fen: int, recorded_by: str):
    """(the payment, True) once per (provider, provider_ref); (the first one, False) on a replay."""
    payment = Payment(
        order_id=order.id,
        provider=provider,
        provider_ref=provider_ref,
        amount_fen=amount_fen,
        recorded_by=recorded_by[:60],
        created_at=clock.now(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(payment)
    except IntegrityError:
        # The unique (provider, provider_ref) makes a replayed notification a no-op.
        existing = db.session.scalar(
            select(Payment).where(Payment.provider == provider, Payment.provider_ref == provider_ref)
        )
        if existing is None:
            raise
        return existing, False
    return payment, True


def _refund_late(order: Order, payment: Payment, amount_fen: int, recorded_by: str) -> None:
    """Money for an order no longer waiting for it: kept as a late payment, and handed back."""
    payment.late = True
    db.session.flush()
    if amount_fen <= 0:
        return
    # Counted as received, then handed back: refunded_fen never exceeds paid_fen.
    db.session.execute(
        update(Order)
        .where(Order.id == order.id)
        .values(paid_fen=Order.paid_fen + amount_fen)
        .execution_options(synchronize_session=False)
    )
    back = refunds.refund_late_payment(order.id, payment, amount_fen, actor=recorded_by, now=clock.now())
    db.session.expire(order)
    audit.record(
        recorded_by,
        "late_payment_refund",
        "order",
        order.id,
        payment_id=payment.id,
        refund_id=back.refund_id,
        refund_status=back.status,
        amount_fen=amount_fen,
        order_status=order.status,
    )


def refund_lines(order: Order, lines: Mapping[int, int], reason: str, actor: str) -> Refund:
    """Pay back {line id: fen} of `order` through the provider that took it; caller commits.

    Raises RefundTooLarge rather than ever refunding a line beyond what was paid for it, or the
    order beyond what it was paid. The rules live in app.services.orders.refunds, which the close uses
    for thousands of orders at once.
    """
    if not lines or not all(_positive_fen(fen) for fen in lines.values()):
        raise ValidationFailed(fields={"amount_fen": _("Enter a positive amount in fen.")})
    done = refunds.refund_orders({order.id: dict(lines)}, reason=reason, actor=actor, now=clock.now())[order.id]
    db.session.expire(order)
    return db.session.get(Refund, done.refund_id)


def refund(order: Order, amount_fen: int, reason: str, actor: str) -> Refund:
    """Pay back `amount_fen` of `order`, taken from its lines in order, each within what is left
    on it (a refund that names no line); caller commits. RefundTooLarge if the lines hold less."""
    if not _positive_fen(amount_fen):
        raise ValidationFailed(fields={"amount_fen": _("Enter a positive amount in fen.")})
    left = refunds.left_on_lines([order.id]).get(order.id, {})
    return refund_lines(order, refunds.spread(amount_fen, left), reason, actor)


def refund_everything_left(order: Order, reason: str, actor: str) -> Refund | None:
    """Pay back all that is left on the order's lines (a cancel, a bag where nothing arrived);
    None when nothing is."""
    left = refunds.left_on_lines([order.id]).get(order.id)
    return refund_lines(order, left, reason, actor) if left else None


def _positive_fen(amount) -> bool:
    return isinstance(amount, int) and not isinstance(amount, bool) and amount > 0


# ---- the simulated online gateway


class SimulatorWebhook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_number: str = Field(min_length=1, max_length=24)
    amount_fen: StrictInt = Field(ge=0)
    provider_ref: str = Field(pattern=r"^sim_[A-Za-z0-9_-]{1,60}$")
    paid_at: datetime


def _result(payment: Payment, order: Order) -> dict:
    return {
        "ok": True,
        "order_number": order.number,
        "payment_id": payment.id,
        "amount_fen": payment.amount_fen,
        "late": payment.late,
    }


def handle_simulator_webhook(raw_body: bytes, signature: str | None) -> dict:
    """Verify and apply a gateway notification; a replay answers the same and changes nothing."""
    if not simulator_signature_ok(raw_body, signature):
        raise BadSignature()
    try:
        body = SimulatorWebhook.model_validate_json(raw_body)
    except ValidationError as exc:
        raise ValidationFailed(
            fields={".".join(map(str, e["loc"])) or "body": e["msg"] for e in exc.errors()}
        ) from None
    order = db.session.scalar(select(Order).where(Order.number == body.order_number))
    if order is None:
        raise NotFound()
    if body.amount_fen != order.total_fen:
        db.session.rollback()
        audit.record(
            "provider:simulator",
            "payment_amount_mismatch",
            "order",
            order.id,
            provider_ref=body.provider_ref,
            amount_fen=body.amount_fen,
            total_fen=order.total_fen,
        )
        db.session.commit()
        raise AmountMismatch()
    payment = record_payment(order, "simulator", body.provider_ref, body.amount_fen, "provider:simulator")
    result = _result(payment, db.session.get(Order, payment.order_id))
    db.session.commit()
    return result


def simulator_pay(access_token: str) -> Order:
    """The customer pressed Pay on the stand-in gateway page: it signs and delivers its webhook."""
    order = get_order_by_token(access_token)
    if order.payment_provider != "simulator" or order.status != "pending_payment":
        raise InvalidTransition(_("This order is not waiting for an online payment."))
    raw = json.dumps(
        {
            "order_number": order.number,
            "amount_fen": order.total_fen,
            "provider_ref": "sim_" + secrets.token_hex(12),
            "paid_at": clock.now().isoformat(),
        }
    ).encode()
    db.session.rollback()  # the webhook runs as its own unit of work, as it would from the gateway
    handle_simulator_webhook(raw, sign_simulator_body(raw))
    return get_order_by_token(access_token)


# ---- offline: the customer paid the leader


def mark_paid_offline(order_ids: list[int], leader: Leader, user: User) -> dict:
    """Mark the leader's own pending orders as paid in cash or by transfer; report what was skipped."""
    if len(order_ids) > MAX_OFFLINE_BATCH:
        raise ValidationFailed(fields={"order_ids": _("At most %(n)d orders at once.", n=MAX_OFFLINE_BATCH)})
    ids = sorted({i for i in order_ids if isinstance(i, int) and not isinstance(i, bool)})
    # Scoped to the leader: another leader's order is reported exactly like a missing one.
    stmt = (
        select(Order).where(Order.id.in_(ids), Order.leader_id == leader.id).execution_options(populate_existing=True)
    )
    orders = {o.id: o for o in db.session.scalars(stmt)} if ids else {}
    marked: list[int] = []
    skipped: list[dict] = []
    actor = f"user:{user.id}"
    try:
        for order_id in ids:
            order = orders.get(order_id)
            if order is None:
                skipped.append({"order_id": order_id, "reason": "not_found"})
                continue
            if order.status != "pending_payment":
                skipped.append({"order_id": order_id, "reason": "not_pending", "status": order.status})
                continue
            payment = record_payment(order, "offline", f"offline-{order.id}", order.total_fen, actor)
            if payment.late:  # it changed state under us; the leader is told to hand the cash back
                skipped.append({"order_id": order_id, "reason": "late_payment_refunded"})
            else:
                marked.append(order_id)
        db.session.commit()
    except DomainError:
        db.session.rollback()
        raise
    return {"marked": marked, "skipped": skipped}
