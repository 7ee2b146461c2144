"""The set-based steps of closing a window (app.services.closing.closing runs them in one transaction).

Orders are settled a chunk at a time, in id order. Each chunk moves its orders with one
compare-and-set per target status through the order's state machine (`lifecycle.move_many`:
`UPDATE … WHERE id IN (…) AND status = :expected RETURNING …`, events with it),
so an order that a payment or a cancel changed meanwhile is not returned and belongs to whoever
changed it; only what came back is counted, refunded, coded and given back. Lines move with one
statement per chunk and target; events, refunds, audit records and codes are written in bulk;
what the cancelled and failed lines held (stock, quotas, limits, places) is summed per counter
row and given back once at the end, products locked in id order.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, case, delete, func, select, update

from app.extensions import db
from app.models import (
    CustomerItemUsage,
    DeliveryBatch,
    Order,
    OrderItem,
    PointWindowUsage,
    Product,
    WindowItem,
    WindowLeaderQuota,
)
from app.services.catalog.stock import sync_stock_alerts
from app.services.core import bulk_rows
from app.services.core.dialect import insert_for_dialect
from app.services.orders import lifecycle, refunds
from app.services.pickup import codes

log = logging.getLogger("app.services.closing.closing")

ACTOR = "system:close"
_O, _L, _B = Order.__table__, OrderItem.__table__, DeliveryBatch.__table__


@dataclass
class Close:
    """What one close did, and what it has to give back once every order is settled."""

    window_id: int
    merchant_id: int
    now: datetime
    counts: Counter = field(default_factory=Counter)
    per_leader: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    batches: dict[int, int] = field(default_factory=dict)  # pickup point id -> batch id
    created_batches: set[int] = field(default_factory=set)
    used_batches: set[int] = field(default_factory=set)
    live_codes: dict[int, set[str]] = field(default_factory=dict)  # pickup point id -> its live codes
    # Units and places to give back, summed per counter row.
    item_units: Counter = field(default_factory=Counter)  # window item id
    product_units: Counter = field(default_factory=Counter)  # product id
    leader_units: Counter = field(default_factory=Counter)  # (window item id, leader id)
    customer_units: Counter = field(default_factory=Counter)  # (window item id, phone)
    places: Counter = field(default_factory=Counter)  # pickup point id

    def tally(self, leader_id: int, outcome: str) -> None:
        self.counts[outcome] += 1
        self.per_leader[leader_id][outcome] += 1

    def hand_back(self, line, leader_id: int, phone: str) -> None:
        self.item_units[line.window_item_id] += line.quantity
        self.product_units[line.product_id] += line.quantity
        self.leader_units[line.window_item_id, leader_id] += line.quantity
        self.customer_units[line.window_item_id, phone] += line.quantity

    def result(self) -> dict:
        return {
            "confirmed": self.counts["confirmed"],
            "cancelled": self.counts["cancelled"],
            "failed": self.counts["failed"],
            "batches": len(self.used_batches),
        }


def _order_ids(window_id: int, status: str) -> list[int]:
    return db.session.scalars(
        select(_O.c.id).where(_O.c.window_id == window_id, _O.c.status == status).order_by(_O.c.id)
    ).all()


_MOVED = (_O.c.leader_id, _O.c.pickup_point_id, _O.c.customer_phone)


def _move_lines(order_ids, status: str, *where, returning: bool = True) -> list:
    """Move the reserved lines of orders this close moved; the lines moved, as they are now."""
    stmt = (
        update(_L)
        .where(bulk_rows.ids_in(_L.c.order_id, order_ids), _L.c.status == "reserved", *where)
        .values(status=status)
    )
    if not returning:
        db.session.execute(stmt)
        return []
    columns = (
        _L.c.id,
        _L.c.order_id,
        _L.c.window_item_id,
        _L.c.product_id,
        _L.c.quantity,
        _L.c.unit_price_fen,
        _L.c.refunded_fen,
    )
    return db.session.execute(stmt.returning(*columns)).all()


def cancel_unpaid(close: Close) -> None:
    """pending_payment → cancelled, lines cancelled, their units and places to give back."""
    ids = _order_ids(close.window_id, "pending_payment")
    for chunk in bulk_rows.chunks(ids):
        # A payment committing now makes its order match nothing here; it is settled as paid.
        moved = lifecycle.move_many(
            chunk,
            "pending_payment",
            "cancelled",
            actor=ACTOR,
            reason="unpaid at cut-off",
            at=close.now,
            values={"cancelled_at": close.now},
            returning=_MOVED,
        )
        if not moved:
            continue
        by_id = {row.id: row for row in moved}
        for line in _move_lines(list(by_id), "cancelled"):
            order = by_id[line.order_id]
            close.hand_back(line, order.leader_id, order.customer_phone)
        for order in moved:
            close.places[order.pickup_point_id] += 1
            close.tally(order.leader_id, "cancelled")
    if ids:
        log.info(
            "closing window %s: %d of %d unpaid orders cancelled", close.window_id, close.counts["cancelled"], len(ids)
        )


def settle_paid(close: Close, failed_items: set[int]) -> None:
    """paid → confirmed (code, batch) or failed; refund what failed; a chunk at a time."""
    ids = _order_ids(close.window_id, "paid")
    settled = 0
    for chunk in bulk_rows.chunks(ids):
        _settle_chunk(close, chunk, failed_items)
        settled += len(chunk)
        log.info("closing window %s: %d of %d paid orders settled", close.window_id, settled, len(ids))
    unused = close.created_batches - close.used_batches
    if unused:  # made for orders that someone else moved before this close reached them
        db.session.execute(delete(_B).where(_B.c.id.in_(unused)))


def _settle_chunk(close: Close, chunk, failed_items: set[int]) -> None:
    in_chunk = bulk_rows.ids_in(_O.c.id, chunk)
    points = db.session.scalars(select(_O.c.pickup_point_id).where(in_chunk, _O.c.status == "paid").distinct())
    _ensure_batches(close, set(points.all()))
    # An order is confirmed when at least one of its live lines is of an item that reached its
    # group; the database decides it per order, under the compare-and-set that moves it.
    survives = (
        select(_L.c.id)
        .where(_L.c.order_id == _O.c.id, _L.c.status == "reserved", _L.c.window_item_id.not_in(failed_items))
        .exists()
    )
    batch = (
        select(_B.c.id)
        .where(
            _B.c.window_id == close.window_id,
            _B.c.merchant_id == close.merchant_id,
            _B.c.pickup_point_id == _O.c.pickup_point_id,
        )
        .scalar_subquery()
    )
    details = _failed_item_details(chunk, failed_items)
    common = {"actor": ACTOR, "at": close.now, "details": details, "returning": _MOVED}
    confirmed = lifecycle.move_many(
        chunk,
        "paid",
        "confirmed",
        reason="window closed",
        values={"confirmed_at": close.now, "batch_id": batch},
        where=(survives,),
        **common,
    )
    failed = lifecycle.move_many(
        chunk, "paid", "failed", reason="minimum group not reached", where=(~survives,), **common
    )
    moved = {row.id: row for row in (*confirmed, *failed)}
    if not moved:
        return
    failed_lines = defaultdict(list)
    if failed_items:
        lost = _move_lines(list(moved), "failed", _L.c.window_item_id.in_(failed_items))
        for line in sorted(lost, key=lambda line: line.id):
            order = moved[line.order_id]
            failed_lines[line.order_id].append(line)
            close.hand_back(line, order.leader_id, order.customer_phone)
    # The surviving lines need not come back: nothing is counted or given back for them.
    _move_lines(list(moved), "confirmed", returning=False)

    owed = {}
    for outcome, group in (("confirmed", confirmed), ("failed", failed)):
        for order in group:
            if outcome == "confirmed":
                close.used_batches.add(close.batches[order.pickup_point_id])
            else:
                close.places[order.pickup_point_id] += 1
            # The failed lines go back whole (for a failed order that is every line: nothing will
            # be delivered), each less anything already refunded on it.
            lost = failed_lines.get(order.id, [])
            owed[order.id] = {line.id: line.unit_price_fen * line.quantity - line.refunded_fen for line in lost}
            close.tally(order.leader_id, outcome)
    refunds.refund_orders(owed, reason="group_failed", actor=ACTOR, now=close.now)
    codes.issue_codes([(row.id, row.pickup_point_id) for row in confirmed], close.live_codes, close.now)


def _failed_item_details(chunk, failed_items: set[int]) -> dict[int, dict]:
    """Per order of the chunk, the failed items among its live lines (its event's detail). Read
    before the move: with the window's items locked, nothing changes these lines meanwhile."""
    if not failed_items:
        return {}
    rows = db.session.execute(
        select(_L.c.order_id, _L.c.window_item_id)
        .where(
            bulk_rows.ids_in(_L.c.order_id, chunk),
            _L.c.status == "reserved",
            _L.c.window_item_id.in_(failed_items),
        )
        .order_by(_L.c.id)
    ).all()
    details: dict[int, dict] = {}
    for order_id, item_id in rows:
        details.setdefault(order_id, {"failed_items": []})["failed_items"].append(item_id)
    return details


def _ensure_batches(close: Close, point_ids: set[int]) -> None:
    """The (window, merchant, point) batch of each point; the unique constraint arbitrates."""
    missing = sorted(p for p in point_ids if p not in close.batches)
    if not missing:
        return
    keys = {"window_id": close.window_id, "merchant_id": close.merchant_id}
    stmt = insert_for_dialect()(_B).values(
        [{**keys, "pickup_point_id": p, "status": "created", "created_at": close.now} for p in missing]
    )
    created = db.session.execute(
        stmt.on_conflict_do_nothing(index_elements=["window_id", "merchant_id", "pickup_point_id"]).returning(
            _B.c.id, _B.c.pickup_point_id
        )
    ).all()
    close.created_batches.update(batch_id for batch_id, _point in created)
    close.batches.update(
        db.session.execute(
            select(_B.c.pickup_point_id, _B.c.id).where(
                _B.c.window_id == close.window_id,
                _B.c.merchant_id == close.merchant_id,
                _B.c.pickup_point_id.in_(missing),
            )
        ).all()
    )


def give_back(close: Close) -> None:
    """Return what cancelled and failed lines held: stock, quotas (window and leader), customer
    limits, and places at the pickup points, one statement per counter table."""
    if not close.product_units and not close.places:
        return
    items = sorted(close.item_units)
    # Products in id order, after the window items (locked first) and the orders (moved above).
    db.session.execute(
        select(Product.id).where(Product.id.in_(sorted(close.product_units))).order_by(Product.id).with_for_update()
    ).all()
    if items:
        wi = WindowItem.__table__
        db.session.execute(
            update(wi).where(wi.c.id == bindparam("item")).values(sold=wi.c.sold - bindparam("units")),
            [{"item": i, "units": close.item_units[i]} for i in items],
        )
        pr = Product.__table__
        db.session.execute(
            update(pr).where(pr.c.id == bindparam("product")).values(stock=pr.c.stock + bindparam("units")),
            [{"product": p, "units": u} for p, u in sorted(close.product_units.items())],
        )
        _give_back_per_holder(WindowLeaderQuota.__table__, "leader_id", "sold", close.leader_units, items)
        _give_back_per_holder(CustomerItemUsage.__table__, "customer_phone", "quantity", close.customer_units, items)
    if close.places:
        pw = PointWindowUsage.__table__
        db.session.execute(
            update(pw)
            .where(pw.c.pickup_point_id == bindparam("point"), pw.c.window_id == close.window_id, pw.c.orders_count > 0)
            # As many single decrements (each only above zero) would leave.
            .values(
                orders_count=case((pw.c.orders_count >= bindparam("n"), pw.c.orders_count - bindparam("n")), else_=0)
            ),
            [{"point": p, "n": n} for p, n in sorted(close.places.items())],
        )
    sync_stock_alerts(close.product_units)


def _give_back_per_holder(table, holder: str, column: str, units: Counter, items: list[int]) -> None:
    """Units back to per-leader quota or per-customer usage rows; a holder without a row was never counted."""
    counted = set(
        db.session.scalars(select(table.c.window_item_id).where(table.c.window_item_id.in_(items)).distinct())
    )
    params = [{"item": i, "holder": h, "units": u} for (i, h), u in sorted(units.items()) if i in counted]
    if not params:
        return
    db.session.execute(
        update(table)
        .where(
            table.c.window_item_id == bindparam("item"),
            table.c[holder] == bindparam("holder"),
            table.c[column] >= bindparam("units"),
        )
        .values({column: table.c[column] - bindparam("units")}),
        params,
    )


def paid_orders_per_item(item_ids: list[int]) -> dict[int, int]:
    """Paid orders holding each item (the minimum group counts people, not units)."""
    return dict(
        db.session.execute(
            select(_L.c.window_item_id, func.count(func.distinct(_O.c.id)))
            .join(_O, _O.c.id == _L.c.order_id)
            .where(_L.c.window_item_id.in_(item_ids), _O.c.status == "paid", _L.c.status == "reserved")
            .group_by(_L.c.window_item_id)
        ).all()
    )
