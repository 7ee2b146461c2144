"""Item-level partial pickup: which units a hand-over takes, and giving them back on undo.

Counters move only by conditional UPDATEs so that two counters (or a hand-over racing an
undo) can never hand over more than arrived: the database refuses a line that would go past
`quantity - shortage_qty` (also a CHECK constraint on order_items).
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Connection, update

from app.extensions import db
from app.models import OrderItem
from app.services.core.errors import Conflict, ValidationFailed
from app.services.counter import redemption_rows

MAX_UNITS = 10_000


def remaining(item: OrderItem) -> int:
    """Units still to hand over on a line: shortages are never handed over."""
    if item.status != "confirmed":
        return 0
    return max(0, item.quantity - item.shortage_qty - item.redeemed_qty)


def parse_lines(raw) -> dict[int, int] | None:
    """Check the shape of requested lines ({order_item_id: units}); None means everything left."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not raw:
        raise ValidationFailed(fields={"lines": _("Choose at least one item to hand over.")})
    lines: dict[int, int] = {}
    for key, qty in raw.items():
        try:
            item_id = int(key)
        except (TypeError, ValueError):
            item_id = 0
        if item_id < 1 or item_id > 2**31 - 1:
            raise ValidationFailed(fields={"lines": _("Unknown item.")})
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0 or qty > MAX_UNITS:
            raise ValidationFailed(fields={f"lines.{item_id}": _("Enter a whole number of units, 0 or more.")})
        if qty:
            lines[item_id] = qty
    if not lines:
        raise ValidationFailed(fields={"lines": _("Choose at least one item to hand over.")})
    return lines


def plan(items: list, lines: dict[int, int] | None) -> dict[int, int]:
    """The units to hand over now, checked against what remains; 422 if any line does not fit."""
    left = {item.id: remaining(item) for item in items}
    if lines is None:
        return {item_id: qty for item_id, qty in left.items() if qty > 0}
    fields = {}
    for item_id, qty in lines.items():
        if item_id not in left:
            fields[f"lines.{item_id}"] = _("This item is not part of this order.")
        elif qty > left[item_id]:
            fields[f"lines.{item_id}"] = _("Only %(n)s left to hand over.", n=left[item_id])
    if fields:
        raise ValidationFailed(fields=fields)
    return dict(lines)


def take(conn: Connection, order_id: int, items: list, taken: dict[int, int], now: datetime) -> int:
    """Add the units to redeemed_qty, each only if it still fits (Conflict, nothing kept, if
    not), a line with nothing left becoming redeemed; the units the order has left after."""
    by_id = {item.id: item for item in items}
    for item_id, qty in taken.items():
        if not redemption_rows.take(conn, order_id, by_id[item_id], qty, now):
            db.session.rollback()
            raise Conflict(_("This order changed meanwhile; look the code up again."))
    return sum(remaining(item) for item in items)


def give_back(order_id: int, lines: list[dict]) -> bool:
    """Undo a hand-over's lines exactly; False (caller rolls back) if a line no longer holds them."""
    for line in lines:
        qty = int(line["quantity"])
        moved = db.session.execute(
            update(OrderItem)
            .where(
                OrderItem.id == int(line["order_item_id"]),
                OrderItem.order_id == order_id,
                OrderItem.status.in_(("confirmed", "redeemed")),
                OrderItem.redeemed_qty >= qty,
            )
            .values(redeemed_qty=OrderItem.redeemed_qty - qty, status="confirmed")
            .execution_options(synchronize_session=False)
        ).rowcount
        if not moved:
            return False
    return True
