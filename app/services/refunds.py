"""Paying money back: the one copy of the refund rules, for one order or a whole close at once.

Each refund goes back through the provider that took the money (the order's first payment that
was not late, unless the caller names the payment), raises the order's refunded_fen by
compare-and-set so it never exceeds paid_fen, and leaves a Refund row and an audit record. Rows
are written with plain statements in the caller's transaction (nothing commits here): a close
refunds tens of thousands of orders in one go, and a single refund is simply a list of one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import bindparam, select, update

from app.extensions import db
from app.models import AuditRecord, Order, Payment, Refund
from app.models.types import utcnow
from app.services import close_rows
from app.services.errors import InvalidTransition, RefundTooLarge
from app.services.payment_providers import get_provider

_O, _P, _R = Order.__table__, Payment.__table__, Refund.__table__
REFUND_COLUMNS = ("order_id", "payment_id", "amount_fen", "reason", "status", "created_at", "summarized")
AUDIT_COLUMNS = ("actor", "action", "object_type", "object_id", "detail", "created_at")


@dataclass(frozen=True)
class Refunded:
    order_id: int
    refund_id: int
    payment_id: int
    amount_fen: int
    status: str  # "succeeded", or "pending" when a person must hand the money back


def refund_orders(
    amounts: Sequence[tuple[int, int]],
    *,
    reason: str,
    actor: str,
    now: datetime,
    payments: Mapping[int, object] | None = None,
) -> dict[int, Refunded]:
    """Refund each (order id, amount in fen), at most one per order; raise and write nothing
    when an order has no payment or would be refunded more than it was paid (the caller's
    transaction is then to be rolled back)."""
    if not amounts:
        return {}
    order_ids = [order_id for order_id, _amount in amounts]
    if len(set(order_ids)) != len(order_ids):
        raise ValueError("one refund per order per call")
    db.session.flush()  # an ORM caller's pending rows (a payment just marked late) come first
    paid_with = dict(payments or {})
    paid_with.update(_first_payments([o for o in order_ids if o not in paid_with]))
    if any(o not in paid_with for o in order_ids):
        raise InvalidTransition(_("This order has no payment to refund."))
    taken = db.session.execute(
        update(_O)
        .where(_O.c.id == bindparam("order"), _O.c.refunded_fen + bindparam("amount") <= _O.c.paid_fen)
        .values(refunded_fen=_O.c.refunded_fen + bindparam("amount")),
        [{"order": order_id, "amount": amount} for order_id, amount in amounts],
    ).rowcount
    if taken != len(amounts):
        raise RefundTooLarge()
    # The provider is asked only once every compare-and-set has held.
    done = []
    for order_id, amount in amounts:
        payment = paid_with[order_id]
        done.append((order_id, payment, amount, get_provider(payment.provider).refund(payment, amount)))
    ids = _insert_refunds(order_ids, [(o, p.id, a, reason[:40], s, now, False) for o, p, a, s in done])
    result = {o: Refunded(o, ids[o], p.id, a, s) for o, p, a, s in done}
    stamp = utcnow()
    close_rows.insert_rows(
        AuditRecord.__table__,
        AUDIT_COLUMNS,
        [
            (
                actor[:60],
                "refund",
                "order",
                r.order_id,
                {
                    "refund_id": r.refund_id,
                    "payment_id": r.payment_id,
                    "amount_fen": r.amount_fen,
                    "reason": reason,
                    "status": r.status,
                },
                stamp,
            )
            for r in result.values()
        ],
    )
    return result


def _first_payments(order_ids: list[int]) -> dict[int, object]:
    """Each order's first payment that was not late, as a plain row (a provider reads a payment,
    never changes it; loading thousands of ORM objects was a good part of a big close)."""
    first: dict[int, object] = {}
    if not order_ids:
        return first
    for payment in db.session.execute(
        select(_P.c.id, _P.c.order_id, _P.c.provider, _P.c.provider_ref, _P.c.amount_fen, _P.c.created_at)
        .where(close_rows.ids_in(_P.c.order_id, order_ids), _P.c.late.is_(False))
        .order_by(_P.c.id)
    ).all():
        first.setdefault(payment.order_id, payment)
    return first


def _insert_refunds(order_ids: list[int], rows: list[tuple]) -> dict[int, int]:
    """Insert the Refund rows; their ids by order. One refund per order in a call, so the new ids
    are found by order (the driver's RETURNING would make SQLite insert them one by one)."""
    of_these = close_rows.ids_in(_R.c.order_id, order_ids)
    # Other refunds of these orders are committed or wait on the order rows this call has updated.
    earlier = set(db.session.scalars(select(_R.c.id).where(of_these)))
    close_rows.insert_rows(_R, REFUND_COLUMNS, rows)
    return {o: i for i, o in db.session.execute(select(_R.c.id, _R.c.order_id).where(of_these)) if i not in earlier}
