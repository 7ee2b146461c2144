"""Customer orders through a leader's share link: place, look up by token, cancel before cut-off.

Customers have no account: the order's unguessable access token is the only key to it.
Stock, quota, limit and capacity move only through app.services.orders.reservations.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, make_transient_to_detached, selectinload

from app.extensions import db
from app.models import Order, OrderEvent, OrderItem, PickupCode, PickupPoint, ShareLink, Window, WindowItem
from app.services.core import clock
from app.services.core.errors import (
    DomainError,
    InvalidTransition,
    NotFound,
    OutOfStock,
    ValidationFailed,
    WindowClosed,
)
from app.services.core.text import PHONE_RE, normalize_phone
from app.services.orders import lifecycle, payments, reservations
from app.services.orders.order_links import get_order_by_token
from app.services.windows import leader_quotas
from app.services.windows.windows import sellable_by

MAX_LINES = 50
MAX_QTY = 999
NAME_MAX = 40
CANCELLABLE = ("pending_payment", "paid")
CODE_VISIBLE = ("confirmed", "ready_for_pickup")
# The rows of a new order, written as statements built once: the ORM's unit of work and the
# reload after commit were about 40% of the CPU an order costs in a rush (bench/rush.py).
_INSERT_ORDER = insert(Order.__table__).returning(Order.__table__.c.id)
_INSERT_LINE = insert(OrderItem.__table__).values(shortage_qty=0, redeemed_qty=0, refunded_fen=0, status="reserved")
_INSERT_EVENT = insert(OrderEvent.__table__).values(
    from_status=None, to_status="pending_payment", actor="customer", reason="placed"
)
# What a new order holds besides what the customer chose (the columns' own defaults).
_NEW_ORDER_DEFAULTS = {
    "batch_id": None,
    "paid_fen": 0,
    "refunded_fen": 0,
    "paid_at": None,
    "confirmed_at": None,
    "completed_at": None,
    "cancelled_at": None,
    "shelf_slot": None,
    "live_slot": None,
    "arrived_at": None,
    "reminded_at": None,
}
# What a share link's slug can be (sharing.py makes them): anything else is no link, asked of no
# database (PostgreSQL refuses a NUL in a query's text with an error, not an empty answer).
_SLUG_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
# Crockford base32 without I, L, O, U: easy to read out over the phone.
_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass
class ShopItem:
    window_item: WindowItem
    remaining: int  # what this link's customers may still order, every cap counted
    leader_remaining: int | None = None  # left under this leader's quota, when one applies

    @property
    def community_capped(self) -> bool:
        """The leader's quota is what limits this item now (the page says so)."""
        return self.leader_remaining is not None and self.leader_remaining <= self.remaining

    @property
    def sold_out(self) -> bool:
        return self.remaining <= 0


@dataclass
class ShopPage:
    link: ShareLink
    window: Window
    state: str  # "open", "not_open" or "closed"
    items: list[ShopItem] = field(default_factory=list)
    points: list[PickupPoint] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)


def window_state(window: Window) -> str:
    now = clock.now()
    if window.status == "open" and window.opens_at <= now < window.closes_at:
        return "open"
    if window.status in ("draft", "scheduled") or (window.status == "open" and now < window.opens_at):
        return "not_open"
    return "closed"


def _link_or_404(slug: str) -> ShareLink:
    link = None
    if slug and _SLUG_RE.match(slug):
        # With what every caller reads next (is the window's merchant active, the leader): one
        # query instead of three lazy loads on the path of every order.
        link = db.session.scalar(
            select(ShareLink)
            .where(ShareLink.slug == slug)
            .options(joinedload(ShareLink.window).joinedload(Window.merchant), joinedload(ShareLink.leader))
        )
    if link is None:
        raise NotFound()
    return link


def share_link(slug: str) -> ShareLink:
    """The share link behind a slug, for what is public about it (its poster); NotFound for a
    draft window, as its page."""
    link = _link_or_404(slug)
    if link.window.status == "draft":
        raise NotFound()
    return link


def _link_sells(link: ShareLink) -> bool:
    return link.window.merchant.active and sellable_by(link.window, link.leader)


def shop_page(slug: str) -> ShopPage:
    """What a customer sees behind a share link: items with what is left, points, state."""
    link = _link_or_404(slug)
    window = link.window
    if window.status == "draft":
        raise NotFound()
    state = window_state(window) if _link_sells(link) else "closed"
    page = ShopPage(link=link, window=window, state=state)
    leader_left = leader_quotas.leader_remaining(window.id, link.leader_id)
    for item in db.session.scalars(
        select(WindowItem)
        .where(WindowItem.window_id == window.id)
        .options(selectinload(WindowItem.product))
        .order_by(WindowItem.id)
    ):
        left = item.product.stock
        if item.quota is not None:
            left = min(left, item.quota - item.sold)
        for_leader = leader_left.get(item.id)
        if for_leader is not None:
            left = min(left, for_leader)
        page.items.append(ShopItem(window_item=item, remaining=max(0, left), leader_remaining=for_leader))
    page.points = active_points(link.leader_id)
    page.providers = payments.enabled_providers()
    return page


def active_points(leader_id: int) -> list[PickupPoint]:
    return list(
        db.session.scalars(
            select(PickupPoint).where(PickupPoint.leader_id == leader_id, PickupPoint.active).order_by(PickupPoint.id)
        )
    )


def _validate_lines(window: Window, lines: dict, errors: dict[str, str]) -> list[reservations.Line]:
    wanted: dict[int, int] = {}
    if not isinstance(lines, dict):
        errors["lines"] = _("Choose at least one item.")
        return []
    for item_id, qty in lines.items():
        key = f"line_{item_id}"
        if not isinstance(item_id, int) or isinstance(item_id, bool):
            errors["lines"] = _("Unknown item.")
            continue
        if not isinstance(qty, int) or isinstance(qty, bool):
            errors[key] = _("Enter a whole number.")
        elif qty < 0:
            errors[key] = _("The quantity cannot be negative.")
        elif qty > MAX_QTY:
            errors[key] = _("At most %(n)d of one item per order.", n=MAX_QTY)
        elif qty > 0:
            wanted[item_id] = qty
    if len(wanted) > MAX_LINES:
        errors["lines"] = _("At most %(n)d different items per order.", n=MAX_LINES)
        return []
    items = {}
    if wanted:
        items = {
            item.id: item
            for item in db.session.scalars(
                select(WindowItem)
                .where(WindowItem.window_id == window.id, WindowItem.id.in_(sorted(wanted)))
                .options(joinedload(WindowItem.product))
            )
        }
    for item_id in wanted:
        if item_id not in items:
            errors["lines"] = _("An item is not part of this group buy.")
    if not wanted and not errors:
        errors["lines"] = _("Choose at least one item.")
    return [reservations.Line(items[i], wanted[i]) for i in sorted(wanted) if i in items]


def _validate_customer(name: str, phone: str, errors: dict[str, str]) -> tuple[str, str]:
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        errors["customer_name"] = _("Enter your name.")
    elif len(name) > NAME_MAX or not name.isprintable():
        errors["customer_name"] = _("Use at most %(n)d ordinary characters.", n=NAME_MAX)
    phone = normalize_phone(phone) if isinstance(phone, str) else ""
    if not PHONE_RE.match(phone):
        errors["customer_phone"] = _("Enter an 11-digit mainland mobile number.")
    return name, phone


def _new_number() -> str:
    day = clock.to_local(clock.now()).strftime("%y%m%d")
    return day + "-" + "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(10))


def place_order(
    slug: str, *, lines: dict[int, int], pickup_point_id: int, customer_name: str, customer_phone: str, provider: str
) -> Order:
    """Reserve everything and create a pending order, or raise and leave nothing behind."""
    try:
        return _place(slug, lines, pickup_point_id, customer_name, customer_phone, provider)
    except DomainError:
        db.session.rollback()
        raise
    except IntegrityError:
        # A CHECK constraint (stock, quota, usage never negative) is the last line of defence.
        db.session.rollback()
        raise OutOfStock() from None


def _place(slug, lines, pickup_point_id, customer_name, customer_phone, provider) -> Order:
    link = _link_or_404(slug)
    window = link.window
    if window_state(window) != "open" or not _link_sells(link):
        raise WindowClosed()
    errors: dict[str, str] = {}
    point = None
    if isinstance(pickup_point_id, int) and not isinstance(pickup_point_id, bool):
        point = db.session.get(PickupPoint, pickup_point_id)
    if point is None or point.leader_id != link.leader_id or not point.active:
        errors["pickup_point_id"] = _("Choose one of this leader's pickup points.")
    name, phone = _validate_customer(customer_name, customer_phone, errors)
    wanted = _validate_lines(window, lines, errors)
    if provider not in payments.enabled_providers():
        errors["payment_provider"] = _("Choose a payment method.")
    if errors:
        raise ValidationFailed(fields=errors)

    reservations.reserve(
        wanted, window_id=window.id, customer_phone=phone, pickup_point=point, leader_id=link.leader_id
    )
    now = clock.now()
    values = {
        "number": _new_number(),
        "access_token": secrets.token_urlsafe(32),
        "window_id": window.id,
        "leader_id": link.leader_id,
        "pickup_point_id": point.id,
        "customer_name": name,
        "customer_phone": phone,
        "status": "pending_payment",
        "payment_provider": provider,
        "total_fen": sum(line.window_item.group_price_fen * line.quantity for line in wanted),
        "created_at": now,
    }
    order_id = db.session.execute(_INSERT_ORDER, values).scalar_one()
    db.session.execute(
        _INSERT_LINE,
        [
            {
                "order_id": order_id,
                "window_item_id": line.window_item.id,
                "product_id": line.window_item.product_id,
                "product_name": line.window_item.product.name,
                "product_spec": line.window_item.product.spec,
                "unit_price_fen": line.window_item.group_price_fen,
                "quantity": line.quantity,
            }
            for line in wanted
        ],
    )
    db.session.execute(_INSERT_EVENT, {"order_id": order_id, "detail": {"slug": link.slug}, "created_at": now})
    db.session.commit()
    return _known_order(order_id, values)


def _known_order(order_id: int, values: dict) -> Order:
    """The order just inserted, as a persistent object built from what was written: no reload
    from the database (every caller reads it next), relationships still load on first use."""
    order = Order(id=order_id, **values, **_NEW_ORDER_DEFAULTS)
    make_transient_to_detached(order)
    return db.session.merge(order, load=False)


def live_code(order: Order) -> PickupCode | None:
    """The pickup code a customer may show, once the order is confirmed and until it is used up."""
    if order.status not in CODE_VISIBLE:
        return None
    return db.session.scalar(select(PickupCode).where(PickupCode.order_id == order.id, PickupCode.status == "issued"))


def can_cancel(order: Order) -> bool:
    return order.status in CANCELLABLE and window_state(order.window) == "open"


def cancel_order(access_token: str, *, actor: str = "customer", reason: str = "") -> Order:
    """Cancel before cut-off: give back what was reserved and refund what was paid."""
    try:
        return _cancel(access_token, actor, reason)
    except DomainError:
        db.session.rollback()
        raise


def _cancel(access_token: str, actor: str, reason: str) -> Order:
    order = get_order_by_token(access_token)
    # Same lock order as reservations and the close job: window items first, then the order.
    db.session.execute(
        select(WindowItem.id).where(WindowItem.window_id == order.window_id).order_by(WindowItem.id).with_for_update()
    ).all()
    order = db.session.execute(
        select(Order).where(Order.id == order.id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    if order.status == "cancelled":
        return order  # a double click, or two tabs: the first cancel already did the work
    if order.status not in CANCELLABLE:
        raise InvalidTransition()
    # Read the window again under the locks: a close that committed meanwhile must be seen.
    window = db.session.execute(
        select(Window).where(Window.id == order.window_id).execution_options(populate_existing=True)
    ).scalar_one()
    if window_state(window) != "open":
        raise WindowClosed(_("The group buy has closed; the order can no longer be cancelled."))
    was = order.status
    now = clock.now()
    if not lifecycle.move(order, was, "cancelled", actor, reason=reason or "cancelled", at=now, cancelled_at=now):
        raise InvalidTransition()  # pragma: no cover - guarded by the row lock above
    live_items = [item for item in order.items if item.status == "reserved"]
    reservations.release_items(live_items, order.customer_phone, leader_id=order.leader_id)
    reservations.release_capacity(pickup_point_id=order.pickup_point_id, window_id=order.window_id)
    db.session.execute(
        update(OrderItem)
        .where(OrderItem.order_id == order.id, OrderItem.status == "reserved")
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(order)
    if was == "paid":
        payments.refund_everything_left(order, reason="customer_cancelled", actor=actor)
    db.session.commit()
    return order
