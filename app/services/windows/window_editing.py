"""Editing group-buy windows: validation, create, update, and amending an open window.

Rules:
- draft and scheduled windows are fully editable (scheduled ones must keep a future cut-off);
- once a window is open, or has any order, its items and prices are frozen (PricesFrozen):
  customers were shown those prices, and an order may be placed between any read and write;
- an open window may still be renamed and have its cut-off *extended* (amend_open_window):
  that only gives customers more time. Shortening it would cut off people who planned on the
  announced time, and changing when it opened or the pickup date breaks what was promised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import exists, select, update

from app.extensions import db
from app.models import Leader, Merchant, Order, Product, Window, WindowItem, WindowLeader
from app.services.catalog.catalog import MAX_PRICE_FEN
from app.services.core import audit, clock
from app.services.core.checks import check_int, clean_line
from app.services.core.errors import InvalidTransition, PricesFrozen, ValidationFailed
from app.services.windows import leader_quotas

EDITABLE = ("draft", "scheduled")
MAX_ITEM_NUMBER = 1_000_000


def has_orders(window_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(Order.window_id == window_id))))


@dataclass
class ItemInput:
    product_id: int
    group_price_fen: int
    per_customer_limit: int | None = None
    quota: int | None = None
    min_group_size: int = 1
    row: int | None = None  # the form row it came from, so errors land on that row

    def key(self) -> tuple:
        return (self.product_id, self.group_price_fen, self.per_customer_limit, self.quota, self.min_group_size)


@dataclass
class WindowInput:
    title: str
    opens_at: datetime  # aware UTC
    closes_at: datetime  # aware UTC
    pickup_date: date
    all_leaders: bool = True
    leader_ids: list[int] = field(default_factory=list)
    items: list[ItemInput] | None = None  # None keeps the current items


# ---- validation


def _validate(merchant_id: int, data: WindowInput, *, require_future: bool) -> str:
    errors: dict[str, str] = {}
    title, error = clean_line(data.title, max_len=120, required=True)
    if error:
        errors["title"] = error
    if data.closes_at <= data.opens_at:
        errors["closes_at"] = _("The cut-off must be after the opening time.")
    elif require_future and data.closes_at <= clock.now():
        errors["closes_at"] = _("The cut-off must be in the future.")
    if data.pickup_date < clock.to_local(data.closes_at).date():
        errors["pickup_date"] = _("Pickup cannot be before the cut-off date.")
    if not data.all_leaders:
        errors.update(_leader_errors(data.leader_ids))
    if data.items is not None:
        errors.update(_item_errors(merchant_id, data.items))
    if errors:
        raise ValidationFailed(fields=errors)
    return title


def _leader_errors(leader_ids: list[int]) -> dict:
    if not leader_ids:
        return {"leader_ids": _("Choose at least one leader, or let all leaders sell it.")}
    wanted = set(leader_ids)
    found = set(db.session.scalars(select(Leader.id).where(Leader.id.in_(wanted), Leader.active.is_(True))))
    if found != wanted:
        return {"leader_ids": _("Choose only active leaders from the list.")}
    return {}


def _item_errors(merchant_id: int, items: list[ItemInput]) -> dict:
    errors: dict[str, str] = {}
    ids = {item.product_id for item in items if isinstance(item.product_id, int)}
    sellable = (
        set(
            db.session.scalars(
                select(Product.id).where(
                    Product.id.in_(ids), Product.merchant_id == merchant_id, Product.listed.is_(True)
                )
            )
        )
        if ids
        else set()
    )
    seen: set[int] = set()
    for index, item in enumerate(items):
        prefix = f"items-{item.row if item.row is not None else index}-"
        if item.product_id not in sellable:
            errors[prefix + "product_id"] = _("Choose one of your listed products.")
        elif item.product_id in seen:
            errors[prefix + "product_id"] = _("This product is already in another row.")
        seen.add(item.product_id)
        if check_int(item.group_price_fen, low=0, high=MAX_PRICE_FEN):
            errors[prefix + "group_price"] = _("Enter a price from 0 to 1,000,000 yuan.")
        for name in ("per_customer_limit", "quota"):
            value = getattr(item, name)
            if value is not None and (error := check_int(value, low=1, high=MAX_ITEM_NUMBER)):
                errors[prefix + name] = error
        if error := check_int(item.min_group_size, low=1, high=MAX_ITEM_NUMBER):
            errors[prefix + "min_group_size"] = error
    return errors


# ---- editing


def create_window(merchant: Merchant, data: WindowInput, *, actor: str = "system") -> Window:
    """Create a draft window with its items and leader choice."""
    title = _validate(merchant.id, data, require_future=False)
    window = Window(
        merchant_id=merchant.id,
        title=title,
        opens_at=data.opens_at,
        closes_at=data.closes_at,
        pickup_date=data.pickup_date,
        all_leaders=data.all_leaders,
        status="draft",
        created_at=clock.now(),
    )
    db.session.add(window)
    db.session.flush()
    _replace_leaders(window, data)
    _replace_items(window, data.items or [])
    audit.record(actor, "window.created", "window", window.id)
    db.session.commit()
    return window


def _items_changed(window: Window, items: list[ItemInput]) -> bool:
    current = sorted(
        (i.product_id, i.group_price_fen, i.per_customer_limit, i.quota, i.min_group_size) for i in window.items
    )
    return current != sorted(item.key() for item in items)


def update_window(window: Window, data: WindowInput, *, actor: str = "system") -> Window:
    """Edit a draft or scheduled window; items and prices are frozen once it is open or has orders."""
    status = window.status
    if data.items is not None and _items_changed(window, data.items):
        if status not in EDITABLE or has_orders(window.id):
            raise PricesFrozen()
    if status not in EDITABLE:
        raise InvalidTransition(_("Only draft or scheduled group buys can be edited."))
    title = _validate(window.merchant_id, data, require_future=status == "scheduled")
    # The compare-and-set doubles as the row lock: the open job cannot flip this window to
    # open (and so no order can arrive) until this edit commits, and a window that opened
    # meanwhile makes the edit fail instead of changing a live window.
    changed = db.session.execute(
        update(Window)
        .where(Window.id == window.id, Window.status == status)
        .values(
            title=title,
            opens_at=data.opens_at,
            closes_at=data.closes_at,
            pickup_date=data.pickup_date,
            all_leaders=data.all_leaders,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        db.session.rollback()
        raise InvalidTransition(_("This group buy changed state meanwhile; reload and try again."))
    _replace_leaders(window, data)
    if data.items is not None:
        _replace_items(window, data.items)
    audit.record(actor, "window.updated", "window", window.id)
    db.session.commit()
    db.session.refresh(window)
    return window


def amend_open_window(window: Window, *, title: str, closes_at: datetime, actor: str = "system") -> Window:
    """Rename an open window or extend its cut-off (never shorten it)."""
    title, error = clean_line(title, max_len=120, required=True)
    errors = {"title": error} if error else {}
    if closes_at < window.closes_at:
        errors["closes_at"] = _("An open group buy's cut-off can only be extended.")
    elif closes_at <= clock.now():
        errors["closes_at"] = _("The cut-off must be in the future.")
    elif clock.to_local(closes_at).date() > window.pickup_date:
        errors["closes_at"] = _("The cut-off cannot move past the pickup date.")
    if errors:
        raise ValidationFailed(fields=errors)
    # closes_at > now in the guard: once the cut-off has passed the close job owns the window.
    changed = db.session.execute(
        update(Window)
        .where(Window.id == window.id, Window.status == "open", Window.closes_at > clock.now())
        .values(title=title, closes_at=closes_at)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        db.session.rollback()
        raise InvalidTransition(_("This group buy is no longer open."))
    audit.record(actor, "window.amended", "window", window.id, closes_at=closes_at.isoformat())
    db.session.commit()
    db.session.refresh(window)
    return window


def _replace_leaders(window: Window, data: WindowInput) -> None:
    wanted = set() if data.all_leaders else set(data.leader_ids)
    for link in list(window.leader_links):
        if link.leader_id not in wanted:
            db.session.delete(link)
    have = {link.leader_id for link in window.leader_links}
    for leader_id in sorted(wanted - have):
        db.session.add(WindowLeader(window_id=window.id, leader_id=leader_id))


def _replace_items(window: Window, items: list[ItemInput]) -> None:
    """Make the window's items match `items`; only reached while nothing has been sold."""
    by_product = {item.product_id: item for item in items}
    for existing in list(window.items):
        wanted = by_product.pop(existing.product_id, None)
        if wanted is None:
            db.session.delete(existing)
            continue
        existing.group_price_fen = wanted.group_price_fen
        existing.per_customer_limit = wanted.per_customer_limit
        existing.quota = wanted.quota
        existing.min_group_size = wanted.min_group_size
    for item in items:
        if item.product_id in by_product:
            db.session.add(
                WindowItem(
                    window_id=window.id,
                    product_id=item.product_id,
                    group_price_fen=item.group_price_fen,
                    per_customer_limit=item.per_customer_limit,
                    quota=item.quota,
                    min_group_size=item.min_group_size,
                )
            )


def copy_window(window: Window, *, actor: str = "system") -> Window:
    """A draft copy of a past (or any) window: same items, prices, limits, leader quotas and leaders, its
    opening moved to the next whole hour with the same length and the same days to pickup.
    Products no longer listed are left out (the merchant sees the copy before scheduling)."""
    now = clock.now()
    opens_at = (now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    closes_at = opens_at + (window.closes_at - window.opens_at)
    days_to_pickup = window.pickup_date - clock.to_local(window.closes_at).date()
    listed = set(
        db.session.scalars(
            select(Product.id).where(Product.merchant_id == window.merchant_id, Product.listed.is_(True))
        )
    )
    items = [
        ItemInput(
            product_id=i.product_id,
            group_price_fen=i.group_price_fen,
            per_customer_limit=i.per_customer_limit,
            quota=i.quota,
            min_group_size=i.min_group_size,
        )
        for i in window.items
        if i.product_id in listed
    ]
    data = WindowInput(
        title=_("%(title)s (copy)", title=window.title)[:120],
        opens_at=opens_at,
        closes_at=closes_at,
        pickup_date=clock.to_local(closes_at).date() + days_to_pickup,
        all_leaders=window.all_leaders,
        leader_ids=list(db.session.scalars(select(WindowLeader.leader_id).where(WindowLeader.window_id == window.id))),
        items=items,
    )
    merchant = db.session.get(Merchant, window.merchant_id)
    copy = create_window(merchant, data, actor=actor)
    leader_quotas.copy_quotas(window, copy)
    audit.record(actor, "window.copied", "window", copy.id, source_window_id=window.id)
    db.session.commit()
    return copy
