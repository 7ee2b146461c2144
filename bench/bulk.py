"""A closed window of tens of thousands of orders in seconds: bulk inserts, not the ordering services.

bench/data.py places every order through the services, right for a few thousand orders and far too
slow for issue #5's 50,000. Here the accounts, pickup points, products and windows still come from
the services; the orders and their lines are written with one executemany each (SQLite's
paramstyle: the bench runs on SQLite), as the close leaves them: `confirmed`, lines `confirmed`, in
one delivery batch per merchant × pickup point, no shelf slot yet (slots come with arrival). One
order in 51 is `cancelled` (unpaid at cut-off), which no document may count. Pickup codes, order
events and usage counters are not written: no document reads them.
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Table, func, insert, select, update

from app.extensions import db
from app.models import DeliveryBatch, Merchant, MerchantMember, Order, OrderItem, PickupPoint, Window, WindowItem
from app.services.accounts import accounts
from app.services.catalog import catalog
from app.services.core import clock
from app.services.pickup import points
from app.services.windows import windows
from bench import data

COMMUNITIES = [
    "阳光小区",
    "翠湖花园",
    "锦绣华庭",
    "滨江一号",
    "梧桐苑",
    "金色家园",
    "东方明珠城",
    "碧桂园",
    "幸福里",
    "学府路",
]
GRADES = ["特级", "一级", "精选", "家庭装", "礼盒装"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["小明", "丽华", "建国", "秀英", "志强", "桂兰", "海燕", "伟", "静", "磊"]
CANCELLED_EVERY = 51  # one order in 51 was not paid by cut-off


@dataclass(frozen=True)
class Shop:
    """What the windows share: the merchant, its owner (who asks for documents), points, products."""

    merchant_id: int
    owner_user_id: int
    point_ids: list[int]
    point_names: dict[int, str]
    products: list[tuple[int, str, str, int]]  # id, name, spec, price in fen


@dataclass(frozen=True)
class BulkWindow:
    """A closed window and what its documents must add up to (counted while generating, not read back)."""

    window_id: int
    orders: int  # confirmed
    cancelled: int
    lines: int  # confirmed lines: rows of the packing list
    units: int
    points: int  # pickup points with confirmed orders: rows of the route summary


def shop(point_count: int = 200, product_count: int = 30) -> Shop:
    """A merchant, leaders with `point_count` pickup points, `product_count` products. Needs an app context."""
    merchant = accounts.create_merchant("大仓鲜选", "赵店长", data.PASSWORD, owner_phone="13800000101")
    owner = db.session.scalar(select(MerchantMember.user_id).where(MerchantMember.merchant_id == merchant.id))
    leaders = [
        accounts.create_leader(name, f"{name}团长", data.PASSWORD, phone=f"1380000{n + 200:04d}")
        for n, name in enumerate(COMMUNITIES)
    ]
    created = []
    for n in range(point_count):
        community = COMMUNITIES[n % len(COMMUNITIES)]
        point = points.create_point(
            leaders[n % len(leaders)],
            points.PointInput(
                f"{community} {n // len(COMMUNITIES) + 1}号楼自提点",
                f"{community}南路 {n + 1} 号 便民超市门口",
                f"1370000{n:04d}",
                "08:00-21:00",
                points.MAX_CAPACITY,
            ),
        )
        created.append(point)
    products = []
    for n in range(product_count):
        name, spec, price = data.PRODUCTS[n % len(data.PRODUCTS)]
        full = f"{name}（{GRADES[n // len(data.PRODUCTS) % len(GRADES)]}）"
        product = catalog.create_product(
            merchant, name=full, spec=spec, category="生鲜", price_fen=price, stock=catalog.MAX_STOCK
        )
        products.append((product.id, full, spec, price))
    db.session.commit()
    return Shop(merchant.id, owner, [p.id for p in created], {p.id: p.name for p in created}, products)


def _closed_window(the_shop: Shop, title: str):
    """A window with every product, through the services, then marked closed (its orders come in bulk)."""
    merchant = db.session.get(Merchant, the_shop.merchant_id)
    now = clock.now()
    earlier = now - timedelta(hours=3)
    with clock.frozen_at(earlier):
        window = windows.create_window(
            merchant,
            windows.WindowInput(
                title=title,
                opens_at=earlier - timedelta(minutes=1),
                closes_at=now - timedelta(hours=1),
                pickup_date=clock.to_local(now).date(),
                items=[windows.ItemInput(product_id=p[0], group_price_fen=p[3] * 9 // 10) for p in the_shop.products],
            ),
        )
    db.session.execute(update(Window).where(Window.id == window.id).values(status="closed", closed_at=now))
    db.session.execute(update(WindowItem).where(WindowItem.window_id == window.id).values(status="succeeded"))
    items = db.session.execute(
        select(WindowItem.id, WindowItem.product_id, WindowItem.group_price_fen).where(
            WindowItem.window_id == window.id
        )
    ).all()
    db.session.commit()
    return window.id, now, items


def _insert_many(table: Table, rows: list[dict]) -> None:
    """One executemany of `rows` (plus the columns' scalar defaults), each value converted as the
    column's type would, once per distinct value (a few timestamps): SQLAlchemy's per-row parameter
    processing was most of the time of a Core insert of 150,000 rows."""
    conn = db.session.connection()
    given = list(rows[0])
    defaults = {
        c.name: c.default.arg
        for c in table.columns
        if c.name not in given and c.default is not None and c.default.is_scalar
    }
    columns = given + list(defaults)
    convert = {}
    for name in columns:
        processor = table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        if processor is not None:
            convert[name] = functools.cache(processor)
    tail = tuple(convert[c](v) if c in convert else v for c, v in defaults.items())
    values = [tuple(convert[c](row[c]) if c in convert else row[c] for c in given) + tail for row in rows]
    marks = ", ".join("?" * len(columns))
    # Names from our own table metadata, values bound: nothing here comes from input.
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", values)  # noqa: S608


def closed_window(the_shop: Shop, orders: int, *, title: str, seed: int = 5) -> BulkWindow:
    """A closed window with `orders` confirmed orders of 1–3 lines over the shop's points. Needs an app context."""
    window_id, now, items = _closed_window(the_shop, title)
    leader_of = dict(db.session.execute(select(PickupPoint.id, PickupPoint.leader_id)).all())
    product = {p[0]: p for p in the_shop.products}
    rng = random.Random(seed)
    weights = [1 + (n * 7) % 10 for n in range(len(the_shop.point_ids))]  # busy points and quiet ones
    # One cancelled order after every 50 confirmed ones: exactly `orders` are confirmed.
    chosen = rng.choices(the_shop.point_ids, weights=weights, k=orders + orders // (CANCELLED_EVERY - 1))
    first_id = (db.session.scalar(select(func.max(Order.id))) or 0) + 1
    day = clock.to_local(now).strftime("%y%m%d")
    order_rows, line_rows, units_by_product = [], [], Counter()  # by name: the products' names differ
    for n, point_id in enumerate(chosen):
        live = (n + 1) % CANCELLED_EVERY != 0
        order_id = first_id + n
        total = 0
        for window_item_id, product_id, price in rng.sample(items, rng.randint(1, 3)):
            qty = rng.randint(1, 3)
            total += price * qty
            _pid, name, spec, _list_price = product[product_id]
            line_rows.append(
                {
                    "order_id": order_id,
                    "window_item_id": window_item_id,
                    "product_id": product_id,
                    "product_name": name,
                    "product_spec": spec,
                    "unit_price_fen": price,
                    "quantity": qty,
                    "status": "confirmed" if live else "cancelled",
                }
            )
            if live:
                units_by_product[name] += qty
        order_rows.append(
            {
                "id": order_id,
                "number": f"{day}-B{window_id:02d}{n:07d}",
                "access_token": f"bench-{window_id:04d}-{n:032d}",
                "window_id": window_id,
                "leader_id": leader_of[point_id],
                "pickup_point_id": point_id,
                "customer_name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                "customer_phone": f"139{order_id:08d}",
                "status": "confirmed" if live else "cancelled",
                "payment_provider": "simulator",
                "total_fen": total,
                "paid_fen": total if live else 0,
                "created_at": now - timedelta(hours=2),
                "paid_at": now - timedelta(hours=2) if live else None,
                "confirmed_at": now if live else None,
                "cancelled_at": None if live else now,
            }
        )
    used = sorted({row["pickup_point_id"] for row in order_rows if row["status"] == "confirmed"})
    db.session.execute(
        insert(DeliveryBatch),
        [
            {"window_id": window_id, "merchant_id": the_shop.merchant_id, "pickup_point_id": p, "created_at": now}
            for p in used
        ],
    )
    batch_of = dict(
        db.session.execute(
            select(DeliveryBatch.pickup_point_id, DeliveryBatch.id).where(DeliveryBatch.window_id == window_id)
        ).all()
    )
    for row in order_rows:
        row["batch_id"] = batch_of[row["pickup_point_id"]] if row["status"] == "confirmed" else None
    _insert_many(Order.__table__, order_rows)
    _insert_many(OrderItem.__table__, line_rows)
    for window_item_id, product_id, _price in items:
        sold = units_by_product[product[product_id][1]]
        db.session.execute(update(WindowItem).where(WindowItem.id == window_item_id).values(sold=sold))
    db.session.commit()
    return BulkWindow(
        window_id=window_id,
        orders=len(chosen) - len(chosen) // CANCELLED_EVERY,
        cancelled=len(chosen) // CANCELLED_EVERY,
        lines=sum(1 for row in line_rows if row["status"] == "confirmed"),
        units=sum(units_by_product.values()),
        points=len(used),
    )
