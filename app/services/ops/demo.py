"""Demo data for `make run`, built through the real services so it looks like real use.

Seeds once: a merchant with 20 products, two leaders with three pickup points, a pickup
staff user, an admin, one window open and closing in about ten minutes, and one window that
already closed (orders placed and paid "earlier" on a moved clock, then closed by the close
service) with one batch arrived and an after-sales request open on it. Before those, two weeks
of daily group buys that were sold, closed, delivered and collected, so the sales reports have
a history to show. Running it again changes nothing and prints the logins.

All or nothing (app/services/core/atomic.py): a seed that fails part-way, or is killed, leaves the
database as it was, so the next run seeds it whole. It seeds only an empty database: demo
accounts with their published password never join someone's real data. The windows' times come
from app/services/ops/demo_timeline.py, which fits them to any moment in any zone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import DeliveryBatch, Leader, Order, PickupCode, PickupPoint, Product, User, Window
from app.services.accounts import accounts
from app.services.catalog import catalog
from app.services.closing import closing
from app.services.core import atomic, clock
from app.services.counter import redemption
from app.services.deliveries import deliveries
from app.services.ops import demo_photos
from app.services.ops.demo_timeline import ARRIVAL_AFTER, Slot, Timeline, timeline
from app.services.orders import after_sales, ordering, payments
from app.services.pickup import points
from app.services.reports import sales_rollup
from app.services.windows import sharing, windows

PASSWORD = "groupbuy123"  # noqa: S105 - the published demo password
LOGINS = [
    ("platform admin", "13800000000"),
    ("merchant owner (鲜果坊)", "13800000001"),
    ("leader (阳光小区, two pickup points)", "13800000002"),
    ("leader (翠湖花园, one pickup point)", "13800000003"),
    ("pickup staff (阳光小区 东门)", "13800000004"),
]
PRODUCTS = [
    ("海南香蕉", "1kg", "水果", 990, 120, 10),
    ("赣南脐橙", "2.5kg", "水果", 2990, 60, 8),
    ("阳光玫瑰葡萄", "500g", "水果", 1990, 40, 5),
    ("红富士苹果", "5斤", "水果", 2490, 80, 10),
    ("丹东草莓", "500g", "水果", 3990, 30, 5),
    ("散养土鸡蛋", "30枚", "蛋奶", 3290, 50, 10),
    ("鲜牛奶", "950ml", "蛋奶", 1590, 70, 10),
    ("老酸奶", "6杯", "蛋奶", 1890, 45, 6),
    ("五常大米", "5kg", "粮油", 5990, 35, 5),
    ("压榨花生油", "5L", "粮油", 8990, 20, 3),
    ("东北小米", "2kg", "粮油", 2290, 40, 5),
    ("西红柿", "1kg", "蔬菜", 690, 100, 15),
    ("上海青", "500g", "蔬菜", 390, 90, 15),
    ("土豆", "2.5kg", "蔬菜", 990, 80, 10),
    ("精品五花肉", "500g", "肉禽", 2590, 40, 6),
    ("冷鲜鸡腿", "1kg", "肉禽", 2190, 35, 6),
    ("活冻虾仁", "300g", "水产", 3590, 25, 4),
    ("手工水饺", "1kg", "速食", 2890, 30, 5),
    ("全麦面包", "400g", "烘焙", 1290, 50, 8),
    ("纸巾抽纸", "24包", "日用", 3990, 60, 8),
]


INCOMPLETE = (
    "The database holds only part of the demo (its accounts but no group buy: a seed by an earlier "
    "release stopped part-way). Start again from an empty database: stop the app, delete the "
    "SQLite file under instance/ with its -wal and -shm files (or empty the PostgreSQL database), "
    "then run `make run` again."
)


class DemoRefused(Exception):
    """The demo was not seeded, saying why and what to do; nothing was changed."""


def _items(chosen: list[Product], percent: int = 90) -> list:
    # Integer fen throughout: the group price is `percent`% of list price, rounded down to 1 jiao.
    return [
        windows.ItemInput(
            product_id=p.id,
            group_price_fen=p.price_fen * percent // 100 // 10 * 10,
            per_customer_limit=5,
            min_group_size=1,
        )
        for p in chosen
    ]


def _scheduled_window(merchant, slot: Slot, items: list):
    """A window created, filled with `items` and scheduled, on the caller's (moved) clock."""
    data = windows.WindowInput(
        title=slot.title, opens_at=slot.opens_at, closes_at=slot.closes_at, pickup_date=slot.pickup_date
    )
    window = windows.create_window(merchant, data)
    windows.update_window(window, replace(data, items=items))
    windows.schedule_window(window)
    return window


def _logins() -> list[str]:
    lines = ["", f"Demo logins (password for all: {PASSWORD}):"]
    lines += [f"  {who:<38} {phone}" for who, phone in LOGINS]
    return lines + ["", f"Open {current_app.config['PUBLIC_BASE_URL']}/login", ""]


def seed_demo() -> list[str]:
    """Seed the demo into an empty database, all or nothing; return the lines to print."""
    with atomic.all_or_nothing():
        if _already_there():
            return ["Demo data already present; kept as it is."] + _logins()
        if db.session.scalar(select(User.id).limit(1)) is not None:
            # Never mix demo accounts, whose password is published, into someone's real data.
            return ["The database already holds other accounts: demo data is seeded only into an empty one."]
        _seed(timeline(clock.now(), clock.local_zone()))
    return ["Demo data seeded."] + _logins()


def _already_there() -> bool:
    """Whether the demo is in the database; DemoRefused when only part of it is."""
    if db.session.scalar(select(User.id).where(User.phone == LOGINS[0][1])) is None:
        return False
    if db.session.scalar(select(Window.id).limit(1)) is None:
        raise DemoRefused(INCOMPLETE)
    return True


def _seed(plan: Timeline) -> None:
    accounts.create_user("平台管理员", PASSWORD, phone=LOGINS[0][1], is_admin=True)
    merchant = accounts.create_merchant("鲜果坊", "王店长", PASSWORD, owner_phone=LOGINS[1][1])
    sunny = accounts.create_leader("阳光小区", "李团长", PASSWORD, phone=LOGINS[2][1])
    lake = accounts.create_leader("翠湖花园", "赵团长", PASSWORD, phone=LOGINS[3][1])
    accounts.create_user("陈店员", PASSWORD, phone=LOGINS[4][1])
    east = points.create_point(
        sunny, points.PointInput("阳光小区 东门", "阳光路 88 号东门便利店", "13800000012", "08:00-21:00", 300)
    )
    points.create_point(
        sunny, points.PointInput("阳光小区 北区", "阳光路 88 号 12 栋架空层", "13800000012", "09:00-20:00", 150)
    )
    lake_point = points.create_point(
        lake, points.PointInput("翠湖花园 会所", "翠湖路 6 号会所一楼", "13800000013", "09:00-21:30", 200)
    )
    points.assign_staff(sunny, east.id, LOGINS[4][1])
    products = [
        catalog.create_product(merchant, name=n, spec=s, category=c, price_fen=p, stock=st, low_stock_threshold=t)
        for n, s, c, p, st, t in PRODUCTS
    ]
    demo_photos.add_photos(products)
    _history(merchant, products[:6], [(sunny, east), (lake, lake_point)], plan.history)
    _past(merchant, products[:6], [(sunny, east), (lake, lake_point)], plan.past)
    # The window that is open now and closes in about ten minutes.
    with clock.frozen_at(plan.live.made_at):
        live = _scheduled_window(merchant, plan.live, _items(products[6:18], 85))
    windows.open_due_windows()
    for leader in (sunny, lake):
        sharing.get_or_create_share_link(live, leader)
    sales_rollup.roll_up_sales()  # the reports show the history at once, not after the first tick


def _past(merchant, products: list[Product], sellers: list[tuple[Leader, PickupPoint]], slot: Slot) -> None:
    """A window that closed an hour ago, with real orders, payments, a close and an arrival."""
    (sunny, east), (lake, lake_point) = sellers
    with clock.frozen_at(slot.made_at):
        past = _scheduled_window(merchant, slot, _items(products))
        windows.open_due_windows()
        customers = [
            ("张阿姨", "13911110001", east.id, sunny),
            ("刘先生", "13911110002", east.id, sunny),
            ("孙女士", "13911110003", lake_point.id, lake),
            ("周同学", "13911110004", lake_point.id, lake),
        ]
        for n, (name, phone, point_id, leader) in enumerate(customers):
            link = sharing.get_or_create_share_link(past, leader)
            lines = {past.items[n % 6].id: 1 + n % 2, past.items[(n + 1) % 6].id: 1}
            order = ordering.place_order(
                link.slug,
                lines=lines,
                pickup_point_id=point_id,
                customer_name=name,
                customer_phone=phone,
                provider="simulator",
            )
            payments.simulator_pay(order.access_token)
        link = sharing.get_or_create_share_link(past, sunny)
        ordering.place_order(
            link.slug,
            lines={past.items[2].id: 1},
            pickup_point_id=east.id,  # left unpaid
            customer_name="吴先生",
            customer_phone="13911110005",
            provider="offline",
        )
    closing.close_window(past.id)
    batch = db.session.scalar(
        select(DeliveryBatch).where(DeliveryBatch.window_id == past.id, DeliveryBatch.pickup_point_id == east.id)
    )
    if batch is not None:
        deliveries.confirm_arrival(batch.id, sunny, sunny.user, {})
        # A customer found something missing from the bag: an after-sales request to decide.
        first = db.session.scalar(select(Order).where(Order.batch_id == batch.id).order_by(Order.id))
        after_sales.open_request(
            first,
            item_id=first.items[0].id,
            reason="missing",
            quantity=1,
            note="袋子里少了一份",
            photo=None,
            opened_by="customer",
        )


NEIGHBOURS = ["王奶奶", "陈阿姨", "黄先生", "林女士", "郑同学", "何叔叔", "高阿姨", "罗先生"]


def _history(merchant, products: list[Product], sellers: list[tuple[Leader, PickupPoint]], slots: list[Slot]) -> None:
    """A group buy on each of the last two weeks' days: sold, closed, delivered and collected."""
    for days_ago, slot in zip(range(len(slots), 0, -1), slots, strict=True):
        opens = slot.opens_at
        with clock.frozen_at(slot.made_at):
            chosen = [products[(days_ago + k) % len(products)] for k in range(3)]
            window = _scheduled_window(merchant, slot, _items(chosen))
            windows.open_due_windows()
        # Busier at the weekend-ish end of the fortnight, a quiet day now and then.
        buyers = 2 + (days_ago * 5) % 7
        for n in range(buyers):
            leader, point = sellers[n % len(sellers)]
            with clock.frozen_at(opens + timedelta(minutes=5 + n)):
                link = sharing.get_or_create_share_link(window, leader)
                order = ordering.place_order(
                    link.slug,
                    lines={window.items[(n + k) % 3].id: 1 + (n + days_ago) % 2 for k in range(1 + n % 2)},
                    pickup_point_id=point.id,
                    customer_name=NEIGHBOURS[(n + days_ago) % len(NEIGHBOURS)],
                    customer_phone=f"1391111{(n * 7 + days_ago) % 40:04d}",
                    provider="simulator",
                )
                payments.simulator_pay(order.access_token)
        with clock.frozen_at(slot.closes_at + timedelta(minutes=1)):
            closing.close_window(window.id)
        for leader, point in sellers:
            batch_id = db.session.scalar(
                select(DeliveryBatch.id).where(
                    DeliveryBatch.window_id == window.id, DeliveryBatch.pickup_point_id == point.id
                )
            )
            if batch_id is None:
                continue
            with clock.frozen_at(slot.closes_at + ARRIVAL_AFTER):
                leader = db.session.get(Leader, leader.id)
                deliveries.confirm_arrival(batch_id, leader, leader.user, {})
                codes = db.session.scalars(
                    select(PickupCode).join(Order, Order.id == PickupCode.order_id).where(Order.batch_id == batch_id)
                ).all()
                for code in codes:
                    redemption.redeem(
                        leader.user, point.id, code.id, f"demo-redeem-{code.id:06d}", "demo", code_text=code.code
                    )
