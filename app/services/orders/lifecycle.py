"""An order's state machine: the one module that changes `orders.status` (DESIGN.md §3).

Every transition is a compare-and-set from the state the caller expects; it records the order's
event (who, when, why) in the same transaction, then tells the transition's listeners. Money and
marketing hang their ledger entries on those listeners (`subscribe`), so anything that must
happen exactly when an order moves happens in one place, in the mover's transaction, for single
moves, the close's set-based moves and the counter's hot path alike.

Creating an order (`pending_payment`, app.services.orders.ordering) is not a transition.
`tests/house/unit/test_state_owners.py` fails if another module writes the column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import ClauseElement

from app.extensions import db
from app.models import Order, OrderEvent
from app.services.core import bulk_rows, clock

# The moves DESIGN.md §3 allows, and the one the counter's undo makes (completed → ready again).
TRANSITIONS = frozenset(
    {
        ("pending_payment", "paid"),
        ("pending_payment", "cancelled"),
        ("paid", "cancelled"),
        ("paid", "confirmed"),
        ("paid", "failed"),
        ("confirmed", "ready_for_pickup"),
        ("confirmed", "refunded"),
        ("ready_for_pickup", "completed"),
        ("completed", "ready_for_pickup"),
    }
)
EVENT_COLUMNS = ("order_id", "from_status", "to_status", "actor", "reason", "detail", "created_at")
_O = Order.__table__


@dataclass(frozen=True)
class Transition:
    """Orders that just moved from `source` to `target`, told to listeners before the commit."""

    order_ids: tuple[int, ...]
    source: str
    target: str
    actor: str
    reason: str
    at: datetime


Listener = Callable[[Transition], None]
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> Callable[[], None]:
    """Call `listener` after every transition, in the mover's transaction (an exception rolls the
    move back with everything else). Returns the function that unsubscribes it."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def _tell(order_ids: Iterable[int], source: str, target: str, actor: str, reason: str, at: datetime) -> None:
    if _listeners:
        moved = Transition(tuple(order_ids), source, target, actor, reason, at)
        for listener in list(_listeners):
            listener(moved)


def _check(source: str, target: str) -> None:
    if (source, target) not in TRANSITIONS:
        raise ValueError(f"no order transition {source} → {target}")


def move(
    order: Order,
    source: str,
    target: str,
    actor: str,
    *,
    reason: str,
    detail: dict | None = None,
    at: datetime | None = None,
    **values,
) -> bool:
    """Compare-and-set one order from `source` to `target` (with `values` for its other columns);
    False, and nothing written, if it was not in `source`. The caller commits."""
    _check(source, target)
    at = at or clock.now()
    moved = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == source)
        .values(status=target, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        return False
    # The loaded order shows its new state without a reload; computed values are read again.
    for key, value in {"status": target, **values}.items():
        if isinstance(value, ClauseElement):
            db.session.expire(order, [key])
        else:
            set_committed_value(order, key, value)
    db.session.add(
        OrderEvent(
            order_id=order.id,
            from_status=source,
            to_status=target,
            actor=actor[:60],
            reason=reason[:200],
            detail=detail,
            created_at=at,
        )
    )
    _tell((order.id,), source, target, actor, reason, at)
    return True


def move_many(
    ids: Sequence[int],
    source: str,
    target: str,
    *,
    actor: str,
    reason: str,
    at: datetime,
    values: dict | None = None,
    where: Sequence = (),
    details: dict[int, dict] | None = None,
    returning: Sequence = (),
) -> list:
    """Compare-and-set these orders from `source` to `target` in one statement (the close's
    chunks). Returns the rows that moved (`id` and the `returning` columns), as they are now;
    an order someone else changed meanwhile is not among them and gets no event."""
    _check(source, target)
    if not ids:
        return []
    rows = db.session.execute(
        update(_O)
        .where(bulk_rows.ids_in(_O.c.id, ids), _O.c.status == source, *where)
        .values(status=target, **(values or {}))
        .returning(_O.c.id, *returning)
    ).all()
    if rows:
        details = details or {}
        bulk_rows.insert_rows(
            OrderEvent.__table__,
            EVENT_COLUMNS,
            [(row.id, source, target, actor, reason, details.get(row.id), at) for row in rows],
        )
        _tell((row.id for row in rows), source, target, actor, reason, at)
    return rows


def note(order: Order, actor: str, *, reason: str, detail: dict | None = None, at: datetime | None = None) -> None:
    """Write an event in the order's history that moves nothing (an after-sales decision)."""
    db.session.add(
        OrderEvent(
            order_id=order.id,
            from_status=order.status,
            to_status=order.status,
            actor=actor[:60],
            reason=reason[:200],
            detail=detail,
            created_at=at or clock.now(),
        )
    )


# The counter's hot path (app.services.counter.redemption): statements built once, run on the
# session's connection; completing the order frees its shelf slot in the same statement.
_COMPLETE = (
    update(_O)
    .where(_O.c.id == bindparam("order_id"), _O.c.status == "ready_for_pickup")
    .values(status="completed", completed_at=bindparam("at"), live_slot=None)
)
_COMPLETED_EVENT = insert(OrderEvent.__table__).values(
    order_id=bindparam("event_order"),
    from_status="ready_for_pickup",
    to_status="completed",
    actor=bindparam("event_actor"),
    reason="redeemed",
    detail=bindparam("event_detail"),
    created_at=bindparam("at"),
)


def complete_redeemed(conn: Connection, order_id: int, actor: str, detail: dict, at: datetime) -> bool:
    """ready_for_pickup → completed once the last bag is handed over; False if it was not ready."""
    if not conn.execute(_COMPLETE, {"order_id": order_id, "at": at}).rowcount:
        return False
    conn.execute(_COMPLETED_EVENT, {"event_order": order_id, "event_actor": actor, "event_detail": detail, "at": at})
    _tell((order_id,), "ready_for_pickup", "completed", actor, "redeemed", at)
    return True
