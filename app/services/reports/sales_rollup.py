"""The `roll-up-sales` job: fold new payments and refunds into the sales summaries, exactly once.

Every payment and refund is written through services/orders/payments.py, so the two ledgers are the
whole story of money. Each run claims a bounded batch of unsummarized ledger rows with a
compare-and-set on their `summarized` flag and adds their figures to the summary rows in the same
transaction: a crash rolls both back, and a second scheduler claiming the same rows finds fewer
than it read and gives up its batch (it is folded by whoever claimed it). Rows are taken by flag,
not by an id high-water mark, because on PostgreSQL ids commit out of order.

What counts (the dashboard says the same): a payment is a sale on the local day it arrived; a late
payment (money for an order no longer waiting for it) and its automatic refund are not sales and
are left out; any other refund counts on the local day it was made, against the order's window,
leader and pickup point.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import false, func, select, update

from app.extensions import db
from app.models import (
    CustomerDay,
    MerchantSalesDaily,
    Order,
    OrderItem,
    Payment,
    ProductSalesDaily,
    Refund,
    SalesDaily,
    Window,
)
from app.services.core import clock
from app.services.core.dialect import insert_for_dialect
from app.services.reports import customer_counts

BATCH_SIZE = 5000
MAX_BATCHES_PER_RUN = 40  # a tick folds at most 200,000 rows and leaves the rest to the next


def roll_up_sales(batch_size: int = BATCH_SIZE, max_batches: int = MAX_BATCHES_PER_RUN) -> int:
    """Fold pending payments and refunds into the summaries; returns how many ledger rows it folded."""
    folded = 0
    for ledger in (Payment, Refund):
        for _ in range(max_batches):
            count, more = _fold_batch(ledger, batch_size)
            folded += count
            if not more:
                break
    return folded


def pending_rows(merchant_id: int) -> int:
    """The merchant's payments and refunds not folded in yet: the dashboard says they are coming."""
    return sum(
        db.session.scalar(
            select(func.count())
            .select_from(ledger)
            .join(Order, Order.id == ledger.order_id)
            .join(Window, Window.id == Order.window_id)
            .where(ledger.summarized == false(), Window.merchant_id == merchant_id)
        )
        or 0
        for ledger in (Payment, Refund)
    )


def _fold_batch(ledger, batch_size: int) -> tuple[int, bool]:
    """(rows folded, whether a full batch was seen); commits, or rolls back when out-raced."""
    ids = list(
        db.session.scalars(select(ledger.id).where(ledger.summarized == false()).order_by(ledger.id).limit(batch_size))
    )
    if not ids:
        db.session.rollback()
        return 0, False
    claimed = db.session.execute(
        update(ledger)
        .where(ledger.id.in_(ids), ledger.summarized == false())
        .values(summarized=True)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != len(ids):
        db.session.rollback()  # another roller holds some of them; it folds them, we stop here
        return 0, False
    if ledger is Payment:
        _fold_payments(ids)
    else:
        _fold_refunds(ids)
    db.session.commit()
    return len(ids), len(ids) == batch_size


def _sales_key(merchant_id: int, moment, window_id: int, leader_id: int, point_id: int) -> tuple:
    return merchant_id, clock.to_local(moment).date(), window_id, leader_id, point_id


def _fold_payments(ids: list[int]) -> None:
    rows = db.session.execute(
        select(
            Payment.created_at,
            Payment.amount_fen,
            Order.id,
            Order.window_id,
            Order.leader_id,
            Order.pickup_point_id,
            Order.customer_phone,
            Window.merchant_id,
        )
        .join(Order, Order.id == Payment.order_id)
        .join(Window, Window.id == Order.window_id)
        .where(Payment.id.in_(ids), Payment.late.is_(False))
    ).all()
    if not rows:
        return
    day_of_order = {}
    sales: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    customers: set[tuple] = set()
    for created_at, amount, order_id, window_id, leader_id, point_id, phone, merchant_id in rows:
        key = _sales_key(merchant_id, created_at, window_id, leader_id, point_id)
        day_of_order[order_id] = (key, merchant_id)
        sales[key]["orders_count"] += 1
        sales[key]["paid_fen"] += amount
        customers.add((merchant_id, key[1], phone))

    products: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    lines = db.session.execute(
        select(
            OrderItem.order_id,
            OrderItem.product_id,
            func.sum(OrderItem.quantity),
            func.sum(OrderItem.quantity * OrderItem.unit_price_fen),
        )
        .where(OrderItem.order_id.in_(list(day_of_order)))
        .group_by(OrderItem.order_id, OrderItem.product_id)
    ).all()
    for order_id, product_id, units, fen in lines:
        key, merchant_id = day_of_order[order_id]
        sales[key]["units"] += int(units)
        product = products[(merchant_id, key[1], product_id)]
        product["orders_count"] += 1
        product["units"] += int(units)
        product["sales_fen"] += int(fen)

    _add_sales(sales)
    _add(
        ProductSalesDaily,
        ("merchant_id", "day", "product_id"),
        [dict(zip(("merchant_id", "day", "product_id"), k, strict=True)) | dict(v) for k, v in products.items()],
        ("orders_count", "units", "sales_fen"),
    )
    insert = insert_for_dialect()
    db.session.execute(
        insert(CustomerDay.__table__).on_conflict_do_nothing(index_elements=["merchant_id", "day", "customer_phone"]),
        [{"merchant_id": m, "day": d, "customer_phone": p} for m, d, p in sorted(customers)],
    )
    customer_counts.add_to_sketches(customers)


def _fold_refunds(ids: list[int]) -> None:
    rows = db.session.execute(
        select(
            Refund.created_at,
            Refund.amount_fen,
            Refund.reason,
            Order.window_id,
            Order.leader_id,
            Order.pickup_point_id,
            Window.merchant_id,
        )
        .join(Order, Order.id == Refund.order_id)
        .join(Window, Window.id == Order.window_id)
        .where(Refund.id.in_(ids), Refund.reason != "late_payment")
    ).all()
    sales: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for created_at, amount, reason, window_id, leader_id, point_id, merchant_id in rows:
        key = _sales_key(merchant_id, created_at, window_id, leader_id, point_id)
        sales[key]["refunds_count"] += 1
        sales[key]["refunded_fen"] += amount
        if reason == "shortage":
            sales[key]["shortage_fen"] += amount
    _add_sales(sales)


SALES_KEY = ("merchant_id", "day", "window_id", "leader_id", "pickup_point_id")
SALES_FIGURES = ("orders_count", "units", "paid_fen", "refunds_count", "refunded_fen", "shortage_fen")


def _add_sales(sales: dict[tuple, dict[str, int]]) -> None:
    rows = [
        dict(zip(SALES_KEY, key, strict=True)) | {name: figures.get(name, 0) for name in SALES_FIGURES}
        for key, figures in sales.items()
    ]
    _add(SalesDaily, SALES_KEY, rows, SALES_FIGURES)
    whole_days: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SALES_FIGURES, 0))
    for row in rows:
        day = whole_days[(row["merchant_id"], row["day"])]
        for name in SALES_FIGURES:
            day[name] += row[name]
    _add(
        MerchantSalesDaily,
        ("merchant_id", "day"),
        [{"merchant_id": m, "day": d, **figures} for (m, d), figures in whole_days.items()],
        SALES_FIGURES,
    )


def _add(model, key: tuple[str, ...], rows: list[dict], figures: tuple[str, ...]) -> None:
    """Insert each summary row, or add its figures to the one already there (one statement, many rows)."""
    if not rows:
        return
    rows = [{name: row.get(name, 0) for name in (*key, *figures)} for row in rows]
    insert = insert_for_dialect()
    table = model.__table__  # Core, not the ORM's bulk path: one executemany for the batch
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(key),
        set_={name: table.c[name] + stmt.excluded[name] for name in figures},
    )
    # A fixed order, so two transactions adding to the same rows on PostgreSQL queue, not deadlock.
    db.session.execute(stmt, sorted(rows, key=lambda row: tuple(row[name] for name in key)))
