"""Paying money back: the one copy of the refund rules, for one order or a whole close at once.

A refund names the order lines it is for ({line id: fen}): each line's refunded_fen rises by
compare-and-set so that it never exceeds what was paid for the line (DESIGN.md §4.10), and the
order's refunded_fen so that it never exceeds paid_fen. Only money that paid for no line (a late
second payment) is refunded on the order alone. The money goes back through the provider that
took it (the order's first payment that was not late, or the late payment itself), and leaves a
Refund row and an audit record. The provider is asked only once every compare-and-set has held,
so a refused refund writes nothing anywhere. Rows are written with plain statements in the
caller's transaction (nothing commits here): a close refunds tens of thousands of orders in one
go, and a single refund is simply a list of one.

Lines are updated before their order, the order the counter takes them in (redemption_rows), so
an after-sales refund and a hand-over of the same order on PostgreSQL queue instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import bindparam, select, update

from app.extensions import db
from app.models import AuditRecord, Order, OrderItem, Payment, Refund
from app.models.types import utcnow
from app.services.core import bulk_rows
from app.services.core.errors import InvalidTransition, RefundTooLarge
from app.services.orders.payment_providers import get_provider

_O, _L, _P, _R = Order.__table__, OrderItem.__table__, Payment.__table__, Refund.__table__
REFUND_COLUMNS = ("order_id", "payment_id", "amount_fen", "reason", "status", "created_at", "summarized")
AUDIT_COLUMNS = ("actor", "action", "object_type", "object_id", "detail", "created_at")
LATE_PAYMENT = "late_payment"

_amount = bindparam("amount")
_TAKE_FROM_LINE = (
    update(_L)
    .where(
        _L.c.id == bindparam("line"),
        _L.c.order_id == bindparam("order"),
        _L.c.refunded_fen + _amount <= _L.c.unit_price_fen * _L.c.quantity,
    )
    .values(refunded_fen=_L.c.refunded_fen + _amount)
)
_TAKE_FROM_ORDER = (
    update(_O)
    .where(_O.c.id == bindparam("order"), _O.c.refunded_fen + _amount <= _O.c.paid_fen)
    .values(refunded_fen=_O.c.refunded_fen + _amount)
)


@dataclass(frozen=True)
class Refunded:
    order_id: int
    refund_id: int
    payment_id: int
    amount_fen: int
    status: str  # "succeeded", or "pending" when a person must hand the money back


def refund_orders(
    owed: Mapping[int, Mapping[int, int]], *, reason: str, actor: str, now: datetime
) -> dict[int, Refunded]:
    """Refund each order {order id: {line id: fen}}, one refund per order for the sum of its
    lines; lines of 0 fen are left out. Raise and write nothing when an order has no payment,
    a line is not the order's, or a line or an order would be refunded more than was paid for
    it (the caller's transaction is then to be rolled back)."""
    lines = {order_id: {line: fen for line, fen in by_line.items() if fen} for order_id, by_line in owed.items()}
    lines = {order_id: by_line for order_id, by_line in lines.items() if by_line}
    if any(fen < 0 for by_line in lines.values() for fen in by_line.values()):
        raise ValueError("a refund takes money back, never less than nothing")
    if not lines:
        return {}
    db.session.flush()  # an ORM caller's pending rows (shortages just marked) come first
    taken = db.session.execute(
        _TAKE_FROM_LINE,
        [
            {"line": line, "order": order_id, "amount": fen}
            for order_id, by_line in sorted(lines.items())
            for line, fen in sorted(by_line.items())
        ],
    ).rowcount
    if taken != sum(len(by_line) for by_line in lines.values()):
        raise RefundTooLarge()
    amounts = [(order_id, sum(by_line.values())) for order_id, by_line in sorted(lines.items())]
    return _refund(amounts, reason=reason, actor=actor, now=now, payments=None, lines=lines)


def refund_late_payment(order_id: int, payment, amount_fen: int, *, actor: str, now: datetime) -> Refunded:
    """Hand back a payment that arrived when the order was no longer waiting for it, through that
    payment: it paid for no line, so only the order's refunded_fen counts it."""
    return _refund([(order_id, amount_fen)], reason=LATE_PAYMENT, actor=actor, now=now, payments={order_id: payment})[
        order_id
    ]


def left_on_lines(order_ids: Iterable[int]) -> dict[int, dict[int, int]]:
    """{order id: {line id: fen still refundable}} for every line of these orders with money left."""
    ids = sorted(set(order_ids))
    left: dict[int, dict[int, int]] = {}
    if not ids:
        return left
    rows = db.session.execute(
        select(_L.c.order_id, _L.c.id, _L.c.unit_price_fen * _L.c.quantity - _L.c.refunded_fen)
        .where(bulk_rows.ids_in(_L.c.order_id, ids))
        .order_by(_L.c.order_id, _L.c.id)
    )
    for order_id, line_id, fen in rows:
        if fen > 0:
            left.setdefault(order_id, {})[line_id] = int(fen)
    return left


def spread(amount_fen: int, left: Mapping[int, int]) -> dict[int, int]:
    """An amount of an order taken from its lines in line order, each within what is left on it
    (an order-level refund that names no line); RefundTooLarge when the lines hold less."""
    taken: dict[int, int] = {}
    rest = amount_fen
    for line, fen in sorted(left.items()):
        if rest <= 0:
            break
        taken[line] = min(fen, rest)
        rest -= taken[line]
    if rest > 0:
        raise RefundTooLarge()
    return taken


def _refund(
    amounts: Sequence[tuple[int, int]],
    *,
    reason: str,
    actor: str,
    now: datetime,
    payments: Mapping[int, object] | None,
    lines: Mapping[int, Mapping[int, int]] | None = None,
) -> dict[int, Refunded]:
    """The order's side of a refund, whose lines (if any) are already taken: compare-and-set on
    refunded_fen, the provider, the Refund rows and the audit."""
    order_ids = [order_id for order_id, _amount in amounts]
    db.session.flush()  # an ORM caller's pending rows (a payment just marked late) come first
    paid_with = dict(payments or {})
    paid_with.update(_first_payments([o for o in order_ids if o not in paid_with]))
    if any(o not in paid_with for o in order_ids):
        raise InvalidTransition(_("This order has no payment to refund."))
    taken = db.session.execute(
        _TAKE_FROM_ORDER, [{"order": order_id, "amount": amount} for order_id, amount in amounts]
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
    bulk_rows.insert_rows(
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
                    # Which lines the money was for (JSON keys are text); none for a late payment.
                    "lines": {str(line): fen for line, fen in (lines or {}).get(r.order_id, {}).items()},
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
        .where(bulk_rows.ids_in(_P.c.order_id, order_ids), _P.c.late.is_(False))
        .order_by(_P.c.id)
    ).all():
        first.setdefault(payment.order_id, payment)
    return first


def _insert_refunds(order_ids: list[int], rows: list[tuple]) -> dict[int, int]:
    """Insert the Refund rows; their ids by order. One refund per order in a call, so the new ids
    are found by order (the driver's RETURNING would make SQLite insert them one by one)."""
    of_these = bulk_rows.ids_in(_R.c.order_id, order_ids)
    # Other refunds of these orders are committed or wait on the order rows this call has updated.
    earlier = set(db.session.scalars(select(_R.c.id).where(of_these)))
    bulk_rows.insert_rows(_R, REFUND_COLUMNS, rows)
    return {o: i for i, o in db.session.execute(select(_R.c.id, _R.c.order_id).where(of_these)) if i not in earlier}
