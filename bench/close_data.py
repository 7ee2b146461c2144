"""An open window due to close, with `orders` paid orders, in seconds: bulk rows, not the ordering services.

The rows are the ones placing and paying through the services leaves before cut-off: orders `paid`
(with their Payment row, so refunds have money to return) or `pending_payment` (one in UNPAID_EVERY,
on top of the paid ones), lines `reserved`, and the counters reservations keep — units sold per
window item, stock taken from each product, per-customer usage of the limited items, and places
taken per pickup point. Every FAILING_EVERY-th product misses its minimum group, so the close fails
and refunds those lines (whole orders when nothing else is in them).

SQLite gets one executemany per table and chunk (bench/bulk.py's converter); PostgreSQL gets COPY,
which is what makes a million orders a matter of seconds there.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, func, select, text
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import (
    CustomerItemUsage,
    Leader,
    Merchant,
    MerchantMember,
    Order,
    OrderItem,
    Payment,
    PickupPoint,
    PointWindowUsage,
    Product,
    User,
    Window,
    WindowItem,
)
from bench import bulk, data

UNPAID_EVERY = 20  # one unpaid order per 19 paid ones
FAILING_EVERY = 10  # every tenth product misses its minimum group
LIMITED_EVERY = 4  # every fourth product has a per-customer limit (usage rows to give back)
POINTS_PER_LEADER = 5
INITIAL_STOCK = 1_000_000
CHUNK = 50_000  # orders generated and written at a time: memory stays flat at a million


@dataclass(frozen=True)
class DueWindow:
    """The window and what a correct close of it must leave (counted while generating)."""

    window_id: int
    merchant_id: int
    paid: int
    unpaid: int
    confirmed: int  # paid orders with at least one line of a succeeding product
    failed: int  # paid orders with only failing products
    refunded_orders: int  # orders with money back: failed ones and confirmed ones with a failing line
    refund_fen: int
    points_confirmed: int  # pickup points with a confirmed order: one batch each
    leaders: int
    kept_units: int  # units of confirmed lines: what stays sold after the close


def _writer(table: Table):
    """rows (list of dicts with the same keys) → the table, by COPY on PostgreSQL."""
    conn = db.session.connection()
    if conn.dialect.name != "postgresql":
        return lambda rows: bulk._insert_many(table, rows) if rows else None

    def copy(rows: list[dict]) -> None:
        if not rows:
            return
        columns = list(rows[0])
        cursor = conn.connection.dbapi_connection.cursor()
        # Names from our own metadata; the values travel in COPY's data stream.
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:  # noqa: S608
            for row in rows:
                copy.write_row(tuple(_pg_value(row[c]) for c in columns))

    return copy


def _pg_value(value):
    # UTCDateTime stores naive UTC; COPY bypasses the type, so convert here.
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _shop(points: int, products: int, now: datetime) -> tuple[int, list[int], dict[int, int], list[tuple]]:
    merchant = Merchant(name="大仓鲜选", contact_phone="13800000101")
    hashed = generate_password_hash(data.PASSWORD)
    owner = User(name="赵店长", phone="13800000101", password_hash=hashed)
    db.session.add_all([merchant, owner])
    db.session.flush()
    db.session.add(MerchantMember(merchant_id=merchant.id, user_id=owner.id, role="owner"))
    leader_count = max(1, points // POINTS_PER_LEADER)
    leader_ids, point_ids, leader_of = [], [], {}
    for n in range(leader_count):
        user = User(name=f"团长{n}", phone=f"1370{n:07d}", password_hash=hashed)
        db.session.add(user)
        db.session.flush()
        leader = Leader(user_id=user.id, community_name=f"{bulk.COMMUNITIES[n % len(bulk.COMMUNITIES)]}{n}")
        db.session.add(leader)
        db.session.flush()
        leader_ids.append(leader.id)
    point_rows = [
        PickupPoint(
            leader_id=leader_ids[n % leader_count],
            name=f"{bulk.COMMUNITIES[n % len(bulk.COMMUNITIES)]} {n + 1}号自提点",
            address=f"幸福路 {n + 1} 号",
            contact_phone=f"1360{n:07d}",
            opening_hours="08:00-21:00",
            capacity=10_000,
        )
        for n in range(points)
    ]
    db.session.add_all(point_rows)
    product_rows = []
    for n in range(products):
        name, spec, price = data.PRODUCTS[n % len(data.PRODUCTS)]
        product_rows.append(
            Product(
                merchant_id=merchant.id,
                name=f"{name}（{bulk.GRADES[n // len(data.PRODUCTS) % len(bulk.GRADES)]}{n}）",
                spec=spec,
                category="生鲜",
                price_fen=price,
                stock=INITIAL_STOCK,
            )
        )
    db.session.add_all(product_rows)
    window = Window(
        merchant_id=merchant.id,
        title=f"周末大团 {points} 个自提点",
        opens_at=now - timedelta(hours=3),
        closes_at=now - timedelta(minutes=1),
        pickup_date=(now + timedelta(days=1)).date(),
        status="open",
    )
    db.session.add(window)
    db.session.flush()
    items = [
        WindowItem(
            window_id=window.id,
            product_id=p.id,
            group_price_fen=p.price_fen * 9 // 10,
            per_customer_limit=9 if n % LIMITED_EVERY == 1 else None,
            min_group_size=10**9 if n % FAILING_EVERY == min(FAILING_EVERY, products) - 1 else 1,
        )
        for n, p in enumerate(product_rows)
    ]
    db.session.add_all(items)
    db.session.flush()
    for point in point_rows:
        leader_of[point.id] = point.leader_id
        point_ids.append(point.id)
    item_rows = [
        (i.id, i.product_id, p.name, p.spec, i.group_price_fen, i.min_group_size > 1, i.per_customer_limit is not None)
        for i, p in zip(items, product_rows, strict=True)
    ]
    return window.id, point_ids, leader_of, item_rows


def due_window(*, orders: int, points: int, products: int, seed: int = 11) -> DueWindow:
    """Write the shop and a due window with `orders` paid orders (+ unpaid ones). Needs an app context."""
    now = datetime.now(UTC)
    window_id, point_ids, leader_of, items = _shop(points, products, now)
    merchant_id = db.session.scalar(select(Window.merchant_id).where(Window.id == window_id))
    write = {m: _writer(m.__table__) for m in (Order, OrderItem, Payment, CustomerItemUsage, PointWindowUsage)}
    rng = random.Random(seed)
    weights = [1 + (n * 7) % 10 for n in range(len(point_ids))]  # busy points and quiet ones
    total = orders + orders // (UNPAID_EVERY - 1)
    first_id = (db.session.scalar(select(func.max(Order.id))) or 0) + 1
    sold, places, usage = Counter(), Counter(), Counter()
    expect = Counter()
    confirmed_points, leaders = set(), set()
    paid_at = now - timedelta(hours=1)
    for start in range(0, total, CHUNK):
        order_rows, line_rows, payment_rows = [], [], []
        chosen = rng.choices(point_ids, weights=weights, k=min(CHUNK, total - start))
        for k, point_id in enumerate(chosen):
            n = start + k
            order_id = first_id + n
            paid = (n + 1) % UNPAID_EVERY != 0
            phone = f"139{order_id:08d}"
            order_total = failing_fen = 0
            survives = False
            for item_id, product_id, name, spec, price, failing, limited in rng.sample(items, rng.randint(1, 3)):
                qty = rng.randint(1, 3)
                order_total += price * qty
                line_rows.append(
                    {
                        "order_id": order_id,
                        "window_item_id": item_id,
                        "product_id": product_id,
                        "product_name": name,
                        "product_spec": spec,
                        "unit_price_fen": price,
                        "quantity": qty,
                        "shortage_qty": 0,
                        "redeemed_qty": 0,
                        "status": "reserved",
                    }
                )
                sold[item_id] += qty
                if limited:
                    usage[item_id, phone] += qty
                if failing:
                    failing_fen += price * qty
                else:
                    survives = True
                    if paid:
                        expect["kept_units"] += qty
            places[point_id] += 1
            leaders.add(leader_of[point_id])
            order_rows.append(
                {
                    "id": order_id,
                    "number": f"C{window_id:03d}-{n:09d}",
                    "access_token": f"close-{window_id:04d}-{n:030d}",
                    "window_id": window_id,
                    "leader_id": leader_of[point_id],
                    "pickup_point_id": point_id,
                    "customer_name": rng.choice(bulk.SURNAMES) + rng.choice(bulk.GIVEN),
                    "customer_phone": phone,
                    "status": "paid" if paid else "pending_payment",
                    "payment_provider": "simulator",
                    "total_fen": order_total,
                    "paid_fen": order_total if paid else 0,
                    "refunded_fen": 0,
                    "created_at": paid_at - timedelta(minutes=5),
                    "paid_at": paid_at if paid else None,
                }
            )
            if not paid:
                expect["unpaid"] += 1
                continue
            expect["paid"] += 1
            payment_rows.append(
                {
                    "order_id": order_id,
                    "provider": "simulator",
                    "provider_ref": f"sim_bench_{order_id}",
                    "amount_fen": order_total,
                    "late": False,
                    "recorded_by": "provider:simulator",
                    "created_at": paid_at,
                    "summarized": False,
                }
            )
            if survives:
                expect["confirmed"] += 1
                confirmed_points.add(point_id)
            else:
                expect["failed"] += 1
            refund = order_total if not survives else failing_fen
            if refund:
                expect["refunded_orders"] += 1
                expect["refund_fen"] += refund
        write[Order](order_rows)
        write[OrderItem](line_rows)
        write[Payment](payment_rows)
    write[CustomerItemUsage](
        [{"window_item_id": i, "customer_phone": phone, "quantity": q} for (i, phone), q in usage.items()]
    )
    write[PointWindowUsage](
        [{"pickup_point_id": p, "window_id": window_id, "orders_count": c} for p, c in sorted(places.items())]
    )
    conn = db.session.connection()
    for item_id, product_id, *_rest in items:
        conn.execute(WindowItem.__table__.update().where(WindowItem.id == item_id).values(sold=sold[item_id]))
        conn.execute(
            Product.__table__.update().where(Product.id == product_id).values(stock=INITIAL_STOCK - sold[item_id])
        )
    if conn.dialect.name == "postgresql":
        # COPY'd ids: move the sequences past them, and give the planner real statistics.
        for table in ("orders", "order_items", "payments", "customer_item_usage", "point_window_usage"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))  # noqa: S608
    db.session.commit()
    if conn.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
            auto.execute(text("ANALYZE"))
    return DueWindow(
        window_id=window_id,
        merchant_id=merchant_id,
        paid=expect["paid"],
        unpaid=expect["unpaid"],
        confirmed=expect["confirmed"],
        failed=expect["failed"],
        refunded_orders=expect["refunded_orders"],
        refund_fen=expect["refund_fen"],
        points_confirmed=len(confirmed_points),
        leaders=len(leaders),
        kept_units=expect["kept_units"],
    )
