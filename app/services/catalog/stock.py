"""Stock alerts: one per crossing to or below a product's threshold, cleared when raised above.

The `stock_alert_open` flag on the product is flipped with compare-and-set, so however many
orders cross the threshold at once, exactly one of them opens the alert.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, bindparam, or_, select, update

from app.extensions import db
from app.models import Leader, MerchantMember, Product, StockAlert, Window, WindowItem, WindowLeader
from app.services.core import clock
from app.services.notify import notifications
from app.services.notify.notification_texts import N_, message

_products = Product.__table__
# Both run for every product of every order: built once as Core statements, since building
# them per call cost more than running them (see app/services/orders/reservations.py).
_OPEN = (
    update(_products)
    .where(
        _products.c.id == bindparam("product_id"),
        _products.c.stock_alert_open.is_(False),
        _products.c.stock <= _products.c.low_stock_threshold,
    )
    .values(stock_alert_open=True)
)
_CLEAR = (
    update(_products)
    .where(
        _products.c.id == bindparam("product_id"),
        _products.c.stock_alert_open.is_(True),
        _products.c.stock > _products.c.low_stock_threshold,
    )
    .values(stock_alert_open=False)
)


def sync_stock_alerts(product_ids: Iterable[int]) -> list[StockAlert]:
    """In the caller's transaction, open or clear alerts for these products. Returns opened."""
    opened: list[StockAlert] = []
    if db.session.autoflush:
        db.session.flush()  # Core statements do not autoflush: let them see a stock set on the object
    for product_id in sorted(set(product_ids)):
        did_open = db.session.execute(_OPEN, {"product_id": product_id}).rowcount
        if did_open:
            opened.append(_open_alert(product_id))
            continue
        did_clear = db.session.execute(_CLEAR, {"product_id": product_id}).rowcount
        if did_clear:
            db.session.execute(
                update(StockAlert)
                .where(StockAlert.product_id == product_id, StockAlert.cleared_at.is_(None))
                .values(cleared_at=clock.now())
            )
    return opened


def _open_alert(product_id: int) -> StockAlert:
    product = db.session.execute(
        select(Product).where(Product.id == product_id).execution_options(populate_existing=True)
    ).scalar_one()
    alert = StockAlert(
        product_id=product.id,
        merchant_id=product.merchant_id,
        stock_at_alert=product.stock,
        threshold=product.low_stock_threshold,
        created_at=clock.now(),
    )
    db.session.add(alert)
    recipients = _merchant_user_ids(product.merchant_id) + _selling_leader_user_ids(product.id)
    notifications.enqueue(
        "stock_alert",
        user_ids=recipients,
        title=message(N_("Stock alert: %(product)s (%(stock)d left)"), product=product.name, stock=product.stock),
        body=message(
            N_("%(product)s %(spec)s: %(stock)d left, threshold %(threshold)d."),
            product=product.name,
            spec=product.spec or "",
            stock=product.stock,
            threshold=product.low_stock_threshold,
        ),
        link=f"/merchant/products/{product.id}/edit",
    )
    return alert


def _merchant_user_ids(merchant_id: int) -> list[int]:
    return list(db.session.scalars(select(MerchantMember.user_id).where(MerchantMember.merchant_id == merchant_id)))


def _selling_leader_user_ids(product_id: int) -> list[int]:
    """Users of leaders who sell this product in a window that is open now."""
    open_windows = (
        select(Window.id, Window.all_leaders)
        .join(WindowItem, WindowItem.window_id == Window.id)
        .where(WindowItem.product_id == product_id, Window.status == "open")
    )
    rows = db.session.execute(open_windows).all()
    if not rows:
        return []
    if any(all_leaders for _, all_leaders in rows):
        return list(db.session.scalars(select(Leader.user_id).where(Leader.active)))
    chosen = (
        select(Leader.user_id)
        .join(WindowLeader, WindowLeader.leader_id == Leader.id)
        .where(WindowLeader.window_id.in_([window_id for window_id, _ in rows]), Leader.active)
    )
    return list(db.session.scalars(chosen))


def scan_stock_alerts() -> int:
    """Scheduler job: reconcile every product whose flag disagrees with its stock."""
    ids = db.session.scalars(
        select(Product.id).where(
            or_(
                and_(Product.stock_alert_open.is_(False), Product.stock <= Product.low_stock_threshold),
                and_(Product.stock_alert_open.is_(True), Product.stock > Product.low_stock_threshold),
            )
        )
    ).all()
    opened = sync_stock_alerts(ids)
    db.session.commit()
    return len(opened)


def open_alerts_for_merchant(merchant_id: int) -> list[StockAlert]:
    return list(
        db.session.scalars(
            select(StockAlert)
            .where(StockAlert.merchant_id == merchant_id, StockAlert.cleared_at.is_(None))
            .order_by(StockAlert.id.desc())
        )
    )
