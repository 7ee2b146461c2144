"""The merchant's sales dashboard: overview, trend, rankings and per-window figures over a period.

Every money figure comes from the summary tables the rollup job keeps (models/analytics.py), so
a range costs index reads over days × points, never a scan of orders. Definitions, as the page
states them: GMV is money received for orders paid in the period (late payments excluded);
orders are orders paid; customers are distinct phone numbers among them; the average order value
is GMV ÷ orders; the refund rate is money refunded in the period ÷ GMV of the period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import (
    Leader,
    MerchantSalesDaily,
    OrderItem,
    PickupPoint,
    Product,
    ProductSalesDaily,
    SalesDaily,
    User,
    Window,
    WindowItem,
)
from app.services.core import clock
from app.services.core.errors import ValidationFailed
from app.services.reports import customer_counts

PRESETS = {"today": 1, "7d": 7, "30d": 30}
MAX_DAYS = 366
RANKING_ROWS = 10
WINDOW_ROWS = 50
EXPORT_ROWS = 100_000


@dataclass(frozen=True)
class Period:
    """Local days from `start` to `end`, both included."""

    start: date
    end: date
    preset: str = "custom"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The same number of days just before, for the comparison figures."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def each_day(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(self.days)]


def period_from_args(preset: str | None, start: str | None, end: str | None, *, today: date | None = None) -> Period:
    """A preset (today, 7d, 30d; 7d when none is given) or a custom range of ISO dates; ValidationFailed
    names the field that is wrong."""
    today = today or clock.to_local(clock.now()).date()
    preset = (preset or "7d").strip()
    if preset in PRESETS:
        return Period(today - timedelta(days=PRESETS[preset] - 1), today, preset)
    if preset != "custom":
        raise ValidationFailed(fields={"range": _("Choose today, 7 days, 30 days or a custom range.")})
    errors: dict[str, str] = {}
    days: dict[str, date] = {}
    for name, typed in (("start", start), ("end", end)):
        typed = (typed or "").strip()
        try:
            if len(typed) != 10:
                raise ValueError(typed)
            days[name] = date.fromisoformat(typed)
        except ValueError:
            errors[name] = _("Enter a date as YYYY-MM-DD.")
    if not errors:
        if days["start"] > days["end"]:
            errors["end"] = _("The end must not be before the start.")
        elif (days["end"] - days["start"]).days + 1 > MAX_DAYS:
            errors["end"] = _("Choose at most %(n)d days.", n=MAX_DAYS)
    if errors:
        raise ValidationFailed(fields=errors)
    return Period(days["start"], days["end"], "custom")


@dataclass
class Overview:
    gmv_fen: int = 0
    orders: int = 0
    units: int = 0
    customers: int = 0
    customers_estimated: bool = False  # past customer_counts.EXACT_LIMIT rows: HyperLogLog
    refunded_fen: int = 0
    refunds: int = 0
    previous: Overview | None = field(default=None, repr=False)

    @property
    def average_order_fen(self) -> int:
        return self.gmv_fen // self.orders if self.orders else 0

    @property
    def refund_rate_bp(self) -> int | None:
        """Refunded ÷ GMV in basis points (integers end to end); None when nothing was sold."""
        return self.refunded_fen * 10_000 // self.gmv_fen if self.gmv_fen else None


def _in(model, merchant_id: int, period: Period):
    return (model.merchant_id == merchant_id, model.day >= period.start, model.day <= period.end)


def overview(merchant_id: int, period: Period, *, compare: bool = True) -> Overview:
    """Headline figures for the period, with the previous period of the same length beside them."""
    gmv, orders, units, refunded, refunds = db.session.execute(
        select(
            func.coalesce(func.sum(MerchantSalesDaily.paid_fen), 0),
            func.coalesce(func.sum(MerchantSalesDaily.orders_count), 0),
            func.coalesce(func.sum(MerchantSalesDaily.units), 0),
            func.coalesce(func.sum(MerchantSalesDaily.refunded_fen), 0),
            func.coalesce(func.sum(MerchantSalesDaily.refunds_count), 0),
        ).where(*_in(MerchantSalesDaily, merchant_id, period))
    ).one()
    # Customer days never outnumber orders, so the order count alone says whether exact is cheap.
    customers, estimated = customer_counts.distinct_customers(merchant_id, period.start, period.end, int(orders))
    if estimated:
        customers = min(customers, int(orders))  # every order has one customer: a hard upper bound
    result = Overview(
        gmv_fen=int(gmv),
        orders=int(orders),
        units=int(units),
        customers=customers,
        customers_estimated=estimated,
        refunded_fen=int(refunded),
        refunds=int(refunds),
    )
    if compare:
        result.previous = overview(merchant_id, period.previous(), compare=False)
    return result


@dataclass(frozen=True)
class DayFigures:
    day: date
    gmv_fen: int
    orders: int
    refunded_fen: int


def trend(merchant_id: int, period: Period) -> list[DayFigures]:
    """One entry per day of the period, zero where nothing happened (a chart needs every day)."""
    rows = db.session.execute(
        select(
            MerchantSalesDaily.day,
            MerchantSalesDaily.paid_fen,
            MerchantSalesDaily.orders_count,
            MerchantSalesDaily.refunded_fen,
        ).where(*_in(MerchantSalesDaily, merchant_id, period))
    ).all()
    by_day = {day: (int(gmv), int(orders), int(refunded)) for day, gmv, orders, refunded in rows}
    return [DayFigures(day, *by_day.get(day, (0, 0, 0))) for day in period.each_day()]


def product_ranking(merchant_id: int, period: Period, *, limit: int = RANKING_ROWS) -> list[dict]:
    """Products by sales in the period, best first."""
    total = func.sum(ProductSalesDaily.sales_fen).label("sales_fen")
    rows = db.session.execute(
        select(
            Product.id,
            Product.name,
            Product.spec,
            total,
            func.sum(ProductSalesDaily.units),
            func.sum(ProductSalesDaily.orders_count),
        )
        .join(Product, Product.id == ProductSalesDaily.product_id)
        .where(*_in(ProductSalesDaily, merchant_id, period))
        .group_by(Product.id, Product.name, Product.spec)
        .order_by(total.desc(), Product.id)
        .limit(limit)
    ).all()
    return [
        {"product_id": pid, "name": name, "spec": spec, "sales_fen": int(fen), "units": int(units), "orders": int(n)}
        for pid, name, spec, fen, units, n in rows
    ]


def _figures(gmv, orders, units, refunded) -> dict:
    return {"gmv_fen": int(gmv), "orders": int(orders), "units": int(units), "refunded_fen": int(refunded)}


def community_rankings(merchant_id: int, period: Period, *, limit: int = RANKING_ROWS) -> tuple[list, list]:
    """(leaders, pickup points) by GMV in the period, best first: one pass over the summaries
    grouped by point (a point has one leader), summed per leader here, names for the top only."""
    per_point = db.session.execute(
        select(
            SalesDaily.leader_id,
            SalesDaily.pickup_point_id,
            func.sum(SalesDaily.paid_fen),
            func.sum(SalesDaily.orders_count),
            func.sum(SalesDaily.units),
            func.sum(SalesDaily.refunded_fen),
        )
        .where(*_in(SalesDaily, merchant_id, period))
        .group_by(SalesDaily.leader_id, SalesDaily.pickup_point_id)
    ).all()
    leaders: dict[int, list[int]] = {}
    for leader_id, _point_id, *figures in per_point:
        total = leaders.setdefault(leader_id, [0, 0, 0, 0])
        for n, value in enumerate(figures):
            total[n] += int(value)
    best = lambda rows: sorted(rows, key=lambda row: (-row[1][0], row[0]))[:limit]  # noqa: E731
    top_leaders = best(leaders.items())
    top_points = best((point_id, figures) for _leader, point_id, *figures in per_point)
    names = dict(
        (leader_id, (community, name))
        for leader_id, community, name in db.session.execute(
            select(Leader.id, Leader.community_name, User.name)
            .join(User, User.id == Leader.user_id)
            .where(Leader.id.in_([leader_id for leader_id, _ in top_leaders]))
        )
    )
    point_names = dict(
        (point_id, (point, community))
        for point_id, point, community in db.session.execute(
            select(PickupPoint.id, PickupPoint.name, Leader.community_name)
            .join(Leader, Leader.id == PickupPoint.leader_id)
            .where(PickupPoint.id.in_([point_id for point_id, _ in top_points]))
        )
    )
    return (
        [
            {"leader_id": i, "community": names[i][0], "leader_name": names[i][1], **_figures(*figures)}
            for i, figures in top_leaders
        ],
        [
            {"point_id": i, "point": point_names[i][0], "community": point_names[i][1], **_figures(*figures)}
            for i, figures in top_points
        ],
    )


def leader_ranking(merchant_id: int, period: Period, *, limit: int = RANKING_ROWS) -> list[dict]:
    """Leaders (communities) by GMV in the period, best first."""
    return community_rankings(merchant_id, period, limit=limit)[0]


def point_ranking(merchant_id: int, period: Period, *, limit: int = RANKING_ROWS) -> list[dict]:
    """Pickup points by GMV in the period, best first."""
    return community_rankings(merchant_id, period, limit=limit)[1]


def window_figures(merchant_id: int, period: Period, *, limit: int = WINDOW_ROWS) -> list[dict]:
    """Group buys that closed in the period, latest first: minimum-group success, sell-through,
    shortages and money. Sell-through is units sold ÷ units offered, over items with a quota."""
    windows = db.session.execute(
        select(Window.id, Window.title, Window.closes_at)
        .where(
            Window.merchant_id == merchant_id,
            Window.status.in_(("closed", "settled")),
            Window.closes_at >= clock.local_day_start(period.start),
            Window.closes_at < clock.local_day_start(period.end + timedelta(days=1)),
        )
        .order_by(Window.closes_at.desc(), Window.id.desc())
        .limit(limit)
    ).all()
    if not windows:
        return []
    ids = [w.id for w in windows]
    items, shortages, money = _item_figures(ids), _shortages(ids), _money(ids)
    return [_window_row(window, items[window.id], int(shortages.get(window.id) or 0), money) for window in windows]


def _item_figures(ids: list[int]) -> dict[int, dict[str, int]]:
    """Per window: items, items that formed their group, units sold (and those of items with a
    quota, beside the quota)."""
    items: dict[int, dict[str, int]] = {
        wid: dict.fromkeys(("items", "formed", "sold", "quota_sold", "quota"), 0) for wid in ids
    }
    for window_id, status, sold, quota in db.session.execute(
        select(WindowItem.window_id, WindowItem.status, WindowItem.sold, WindowItem.quota).where(
            WindowItem.window_id.in_(ids)
        )
    ):
        figures = items[window_id]
        figures["items"] += 1
        if status == "succeeded":
            figures["formed"] += 1
            figures["sold"] += sold
            if quota:
                figures["quota_sold"] += sold
                figures["quota"] += quota
    return items


def _shortages(ids: list[int]) -> dict[int, int]:
    return dict(
        db.session.execute(
            select(WindowItem.window_id, func.sum(OrderItem.shortage_qty))
            .join(OrderItem, OrderItem.window_item_id == WindowItem.id)
            # A literal, not a bound 0, so the planner can use the partial index of short lines.
            .where(WindowItem.window_id.in_(ids), text("order_items.shortage_qty > 0"))
            .group_by(WindowItem.window_id)
        ).all()
    )


def _money(ids: list[int]) -> dict[int, tuple[int, int]]:
    return {
        wid: (int(gmv), int(refunded))
        for wid, gmv, refunded in db.session.execute(
            select(SalesDaily.window_id, func.sum(SalesDaily.paid_fen), func.sum(SalesDaily.refunded_fen))
            .where(SalesDaily.window_id.in_(ids))
            .group_by(SalesDaily.window_id)
        )
    }


def _window_row(window, figures: dict[str, int], short: int, money: dict[int, tuple[int, int]]) -> dict:
    gmv, refunded = money.get(window.id, (0, 0))
    return {
        "window_id": window.id,
        "title": window.title,
        "closes_at": window.closes_at,
        "item_count": figures["items"],
        "formed": figures["formed"],
        "formed_bp": figures["formed"] * 10_000 // figures["items"] if figures["items"] else None,
        "units_sold": figures["sold"],
        "units_offered": figures["quota"],
        "sell_through_bp": figures["quota_sold"] * 10_000 // figures["quota"] if figures["quota"] else None,
        "shortage_units": short,
        "shortage_bp": short * 10_000 // figures["sold"] if figures["sold"] else None,
        "gmv_fen": gmv,
        "refunded_fen": refunded,
    }
