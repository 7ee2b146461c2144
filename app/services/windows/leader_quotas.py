"""Per-leader quotas within a window: how many units of an item one leader's community may buy,
so one big community cannot take all of a hot item.

What the merchant sets, while the window is draft, scheduled or open:
- a default per window item, `WindowItem.per_leader_quota` ("each leader at most N"; empty
  means no per-leader cap);
- an override for one leader and item (a `WindowLeaderQuota` row with `explicit` true), which
  beats the default whether higher or lower; 0 keeps that leader from selling the item.

`WindowLeaderQuota.sold` is what the leader's live orders hold. Reservations move it with
conditional statements (app.services.orders.reservations); here, whenever a cap starts to apply to a
leader, it is counted from that leader's orders, so a cap set on an open window covers what
was sold before it. A cap below what a leader already holds is refused, and the database
refuses `sold > quota` whatever happens.

Locks, in the order everyone takes them: the window row (a compare-and-set on its status, as
editing and closing do), then the window item (the row reservations lock first), then quota
rows. While the item is locked no order can take or give back its units, so the counts read
here are exact.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Leader, Order, OrderItem, Window, WindowItem, WindowLeader, WindowLeaderQuota
from app.services.core import audit
from app.services.core.checks import check_int
from app.services.core.errors import InvalidTransition, NotFound, ValidationFailed
from app.services.windows import lifecycle

EDITABLE = ("draft", "scheduled", "open")
MAX_QUOTA = 1_000_000
# Order lines whose units are still held (cancelled and failed lines were given back).
HELD_LINE_STATUSES = ("reserved", "confirmed", "redeemed")


@dataclass
class QuotaPage:
    window: Window
    editable: bool
    items: list[WindowItem]
    overrides: list[WindowLeaderQuota]
    leaders: list[Leader]  # who may sell the window: the choices for an override


def quota_page(window: Window) -> QuotaPage:
    """The window's items with their defaults, the overrides, and the leaders to choose from."""
    overrides = list(
        db.session.scalars(
            select(WindowLeaderQuota)
            .join(WindowItem, WindowItem.id == WindowLeaderQuota.window_item_id)
            .join(Leader, Leader.id == WindowLeaderQuota.leader_id)
            .where(WindowItem.window_id == window.id, WindowLeaderQuota.explicit.is_(True))
            .options(selectinload(WindowLeaderQuota.leader), selectinload(WindowLeaderQuota.window_item))
            .order_by(WindowItem.id, Leader.community_name, Leader.id)
        )
    )
    items = list(
        db.session.scalars(
            select(WindowItem)
            .where(WindowItem.window_id == window.id)
            .options(selectinload(WindowItem.product))
            .order_by(WindowItem.id)
        )
    )
    return QuotaPage(
        window=window,
        editable=window.status in EDITABLE,
        items=items,
        overrides=overrides,
        leaders=eligible_leaders(window),
    )


def _eligible(window: Window):
    stmt = select(Leader).where(Leader.active.is_(True))
    if not window.all_leaders:
        stmt = stmt.where(exists().where(WindowLeader.window_id == window.id, WindowLeader.leader_id == Leader.id))
    return stmt


def eligible_leaders(window: Window) -> list[Leader]:
    """Active leaders who may sell the window (all of them, or the chosen ones)."""
    return list(db.session.scalars(_eligible(window).order_by(Leader.community_name, Leader.id)))


def _may_sell(window: Window, leader_id: int) -> bool:
    return db.session.scalar(_eligible(window).where(Leader.id == leader_id)) is not None


def leader_remaining(window_id: int, leader_id: int) -> dict[int, int]:
    """{window item id: units this leader may still take} for items where a leader cap applies."""
    rows = dict(
        db.session.execute(
            select(WindowLeaderQuota.window_item_id, WindowLeaderQuota.quota - WindowLeaderQuota.sold)
            .join(WindowItem, WindowItem.id == WindowLeaderQuota.window_item_id)
            .where(WindowItem.window_id == window_id, WindowLeaderQuota.leader_id == leader_id)
        ).all()
    )
    defaults = db.session.execute(
        select(WindowItem.id, WindowItem.per_leader_quota).where(
            WindowItem.window_id == window_id, WindowItem.per_leader_quota.is_not(None)
        )
    ).all()
    for item_id, per_leader_quota in defaults:
        rows.setdefault(item_id, per_leader_quota)
    return {item_id: max(0, left) for item_id, left in rows.items()}


# ---- changing quotas


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31


def _lock(window: Window, window_item_id: int) -> WindowItem:
    """Lock the window (only while quotas may change) and then the item; or raise."""
    if not lifecycle.lock_in(window.id, EDITABLE):
        db.session.rollback()
        raise InvalidTransition(_("Quotas can only change before the group buy closes."))
    item = db.session.scalar(
        select(WindowItem)
        .where(WindowItem.id == window_item_id, WindowItem.window_id == window.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if item is None:
        db.session.rollback()
        raise ValidationFailed(fields={"window_item_id": _("Choose one of this group buy's products.")})
    return item


def _held(window_item_id: int) -> dict[int, int]:
    """{leader id: units of the item that leader's live orders hold}."""
    return dict(
        db.session.execute(
            select(Order.leader_id, func.sum(OrderItem.quantity))
            .join(Order, Order.id == OrderItem.order_id)
            .where(OrderItem.window_item_id == window_item_id, OrderItem.status.in_(HELD_LINE_STATUSES))
            .group_by(Order.leader_id)
        ).all()
    )


def _explicit_leaders(window_item_id: int) -> set[int]:
    return set(
        db.session.scalars(
            select(WindowLeaderQuota.leader_id).where(
                WindowLeaderQuota.window_item_id == window_item_id, WindowLeaderQuota.explicit.is_(True)
            )
        )
    )


def _refuse(field: str, message: str):
    db.session.rollback()
    raise ValidationFailed(fields={field: message})


def _community(leader_id: int) -> str:
    return db.session.scalar(select(Leader.community_name).where(Leader.id == leader_id)) or "?"


def set_item_default(window: Window, window_item_id: int, per_leader_quota: int | None, *, actor: str) -> WindowItem:
    """Set (or clear, with None) how many units each leader may take of one item by default."""
    errors = {}
    if not _is_id(window_item_id):
        errors["window_item_id"] = _("Choose one of this group buy's products.")
    if per_leader_quota is not None and (error := check_int(per_leader_quota, low=0, high=MAX_QUOTA)):
        errors["per_leader_quota"] = error
    if errors:
        raise ValidationFailed(fields=errors)
    item = _lock(window, window_item_id)
    explicit = _explicit_leaders(item.id)
    held = {leader: n for leader, n in _held(item.id).items() if leader not in explicit and n > 0}
    if per_leader_quota is not None and held:
        leader_id, most = max(held.items(), key=lambda pair: (pair[1], -pair[0]))
        if most > per_leader_quota:
            _refuse(
                "per_leader_quota",
                _(
                    "%(community)s has already sold %(n)d, so the cap cannot be lower than that.",
                    community=_community(leader_id),
                    n=most,
                ),
            )
    # The rows that follow the default are rebuilt from the orders: exact, under the lock.
    db.session.execute(
        delete(WindowLeaderQuota)
        .where(WindowLeaderQuota.window_item_id == item.id, WindowLeaderQuota.explicit.is_(False))
        .execution_options(synchronize_session=False)
    )
    if per_leader_quota is not None:
        for leader_id in sorted(held):
            db.session.add(
                WindowLeaderQuota(
                    window_item_id=item.id,
                    leader_id=leader_id,
                    quota=per_leader_quota,
                    sold=held[leader_id],
                    explicit=False,
                )
            )
    item.per_leader_quota = per_leader_quota
    audit.record(actor, "window.leader_default", "window", window.id, item_id=item.id, quota=per_leader_quota)
    db.session.commit()
    return item


def set_leader_quota(
    window: Window, window_item_id: int, leader_id: int, quota: int, *, actor: str
) -> WindowLeaderQuota:
    """Give one leader its own quota for one item (beats the item's default)."""
    errors = {}
    if not _is_id(window_item_id):
        errors["window_item_id"] = _("Choose one of this group buy's products.")
    if not _is_id(leader_id) or not _may_sell(window, leader_id):
        errors["leader_id"] = _("Choose one of the leaders who may sell this group buy.")
    if error := check_int(quota, low=0, high=MAX_QUOTA):
        errors["quota"] = error
    if errors:
        raise ValidationFailed(fields=errors)
    item = _lock(window, window_item_id)
    held = _held(item.id).get(leader_id, 0)
    if quota < held:
        _refuse("quota", _("This community has already sold %(n)d; the quota cannot be lower.", n=held))
    row = db.session.scalar(
        select(WindowLeaderQuota)
        .where(WindowLeaderQuota.window_item_id == item.id, WindowLeaderQuota.leader_id == leader_id)
        .execution_options(populate_existing=True)
    )
    if row is None:
        row = WindowLeaderQuota(window_item_id=item.id, leader_id=leader_id)
        db.session.add(row)
    row.quota, row.sold, row.explicit = quota, held, True
    item.has_leader_overrides = True
    audit.record(actor, "window.leader_quota", "window", window.id, item_id=item.id, leader_id=leader_id, quota=quota)
    db.session.commit()
    return row


def remove_leader_quota(window: Window, quota_id: int, *, actor: str) -> None:
    """Drop a leader's override: the item's default (if any) applies to that leader again.
    Refused when the leader already holds more than the default; NotFound outside this window."""
    found = db.session.execute(
        select(WindowLeaderQuota.window_item_id, WindowLeaderQuota.leader_id)
        .join(WindowItem, WindowItem.id == WindowLeaderQuota.window_item_id)
        .where(
            WindowLeaderQuota.id == quota_id,
            WindowItem.window_id == window.id,
            WindowLeaderQuota.explicit.is_(True),
        )
    ).first()
    if found is None:
        raise NotFound()
    item_id, leader_id = found
    item = _lock(window, item_id)
    row = db.session.scalar(
        select(WindowLeaderQuota)
        .where(WindowLeaderQuota.id == quota_id, WindowLeaderQuota.explicit.is_(True))
        .execution_options(populate_existing=True)
    )
    if row is None:  # removed meanwhile
        db.session.rollback()
        raise NotFound()
    default = item.per_leader_quota
    if default is None:
        db.session.delete(row)
    else:
        held = _held(item.id).get(leader_id, 0)
        if held > default:
            _refuse(
                "quota",
                _(
                    "This community has already sold %(n)d, more than the default of %(default)d; "
                    "lower its quota instead of removing it.",
                    n=held,
                    default=default,
                ),
            )
        row.quota, row.sold, row.explicit = default, held, False
    db.session.flush()
    item.has_leader_overrides = bool(
        db.session.scalar(
            select(exists().where(WindowLeaderQuota.window_item_id == item.id, WindowLeaderQuota.explicit.is_(True)))
        )
    )
    audit.record(actor, "window.leader_quota_removed", "window", window.id, item_id=item.id, leader_id=leader_id)
    db.session.commit()


def copy_quotas(source: Window, copy: Window) -> None:
    """Carry the defaults and overrides of `source` over to its fresh copy (nothing sold yet).
    Runs in the caller's transaction; overrides of leaders who may no longer sell it are left out."""
    by_product = {item.product_id: item for item in copy.items}
    leaders = set(db.session.scalars(_eligible(copy).with_only_columns(Leader.id)))
    for item in source.items:
        target = by_product.get(item.product_id)
        if target is None:
            continue
        target.per_leader_quota = item.per_leader_quota
        for row in item.leader_quotas:
            if row.explicit and row.leader_id in leaders:
                db.session.add(
                    WindowLeaderQuota(
                        window_item_id=target.id, leader_id=row.leader_id, quota=row.quota, sold=0, explicit=True
                    )
                )
                target.has_leader_overrides = True
