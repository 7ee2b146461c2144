"""After-sales (售后): a customer (from their order page) or the leader reports a problem with an
order line; the merchant refunds all or part of it, or rejects it with a reason.

States: open → approved (a refund of 1 fen up to the reported units at the price paid, within
what is left to refund on the line, through payments.refund_lines, so it lands in the refund
ledger and is audited) or open → rejected (a reason is required). The decision is a
compare-and-set on the open row, so two merchants deciding at once refund once; the refund is a
compare-and-set on the line, so no line is ever refunded beyond what was paid for it.

Units are claimed by the open and approved requests of a line: a new request may only ask for
units that were not short and that no earlier request claimed (a rejected one gives its units
back). One open request per order line: the database's unique open_item_id says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import AfterSalesRequest, Leader, MerchantMember, Order, OrderItem
from app.models.after_sales import AFTER_SALES_REASONS
from app.permissions import scoped_or_404
from app.services.core import audit, clock, photos
from app.services.core.checks import has_control_chars
from app.services.core.errors import Conflict, DomainError, ValidationFailed
from app.services.core.text import format_yuan, parse_yuan
from app.services.notify import notifications
from app.services.notify.notification_texts import N_, message
from app.services.orders import lifecycle, payments

PHOTO_KIND = "after_sales"
OPEN_ORDER_STATUSES = ("confirmed", "ready_for_pickup", "completed")
# Evidence is asked for where a photo can show the problem; a missing item cannot be photographed.
PHOTO_REQUIRED = {"quality", "wrong_item"}
# Requests that hold their units: an open one until it is decided, an approved one for good.
CLAIMING = ("open", "approved")


class AlreadyOpen(Conflict):
    code = "after_sales_open"
    default_message = _l("A request for this item is already open.")


class AlreadyDecided(Conflict):
    code = "after_sales_decided"
    default_message = _l("This request was already decided.")


def _deadline_start(order: Order):
    return order.completed_at or order.arrived_at or order.confirmed_at or order.created_at


def window_open(order: Order) -> bool:
    """Whether the order can still get after-sales: confirmed or later, within AFTER_SALES_DAYS."""
    if order.status not in OPEN_ORDER_STATUSES:
        return False
    days = int(current_app.config["AFTER_SALES_DAYS"])
    return clock.now() <= _deadline_start(order) + timedelta(days=days)


@dataclass
class Claims:
    """What the open and approved requests of an order hold, per line."""

    units: dict[int, int] = field(default_factory=dict)
    open_lines: set[int] = field(default_factory=set)


def claims(order_id: int) -> Claims:
    """The units each line of the order has in open or approved requests, and which are open."""
    found = Claims()
    rows = db.session.execute(
        select(AfterSalesRequest.order_item_id, AfterSalesRequest.status, func.sum(AfterSalesRequest.quantity))
        .where(AfterSalesRequest.order_id == order_id, AfterSalesRequest.status.in_(CLAIMING))
        .group_by(AfterSalesRequest.order_item_id, AfterSalesRequest.status)
    )
    for item_id, status, units in rows:
        found.units[item_id] = found.units.get(item_id, 0) + int(units)
        if status == "open":
            found.open_lines.add(item_id)
    return found


def claimable_units(item: OrderItem, claimed: int) -> int:
    """Units of the line that were (to be) delivered and no request has claimed yet: shortages
    are refunded already, and an approved request has settled its units."""
    if item.status not in ("confirmed", "redeemed"):
        return 0
    return max(0, item.quantity - item.shortage_qty - claimed)


def eligible_items(order: Order) -> list[tuple[OrderItem, int]]:
    """(line, units it can still get after-sales for) for the order's form; none once it closed."""
    if not window_open(order):
        return []
    held = claims(order.id)
    return [
        (item, units)
        for item in order.items
        if item.id not in held.open_lines and (units := claimable_units(item, held.units.get(item.id, 0))) > 0
    ]


def _validated(order: Order, item_id, reason, quantity, note, photo) -> tuple[OrderItem, int, str]:
    fields = {}
    held = claims(order.id)
    item = next((i for i in order.items if str(i.id) == str(item_id)), None)
    if item is not None and item.id in held.open_lines:
        raise AlreadyOpen()
    claimed = held.units.get(item.id, 0) if item is not None else 0
    units = claimable_units(item, claimed) if item is not None else 0
    if units <= 0:
        item = None
        if claimed:
            fields["item_id"] = _("Every unit of this item already had an after-sales request.")
        else:
            fields["item_id"] = _("Choose an item of this order that can still get after-sales.")
    if reason not in AFTER_SALES_REASONS:
        fields["reason"] = _("Choose what is wrong.")
    text = str(quantity or "").strip()
    qty = int(text) if text.isdigit() and len(text) <= 4 else 0
    if item is not None and not 1 <= qty <= units:
        if claimed and qty > units:
            fields["quantity"] = _(
                "Only %(n)d of this item can still get after-sales: the rest already had a request.", n=units
            )
        else:
            fields["quantity"] = _("Enter a number from 1 to %(n)d.", n=units)
    note = " ".join((note or "").split())
    if len(note) > 500 or has_control_chars(note):
        fields["note"] = _("Describe the problem in at most 500 characters.")
    has_photo = photo is not None and getattr(photo, "filename", "")
    if reason in PHOTO_REQUIRED and not has_photo:
        fields["photo"] = _("Add a photo of the problem.")
    if fields:
        raise ValidationFailed(fields=fields)
    return item, qty, note


def _merchant_user_ids(merchant_id: int) -> list[int]:
    return list(db.session.scalars(select(MerchantMember.user_id).where(MerchantMember.merchant_id == merchant_id)))


def _leader_user_id(leader_id: int) -> list[int]:
    return list(db.session.scalars(select(Leader.user_id).where(Leader.id == leader_id)))


def open_request(order: Order, *, item_id, reason, quantity, note, photo, opened_by: str) -> AfterSalesRequest:
    """Open a request for one line of `order`; ValidationFailed/AlreadyOpen change nothing."""
    if not window_open(order):
        raise ValidationFailed(fields={"item_id": _("After-sales for this order is closed.")})
    item, qty, note = _validated(order, item_id, reason, quantity, note, photo)
    photo_name = photos.save_photo(photo, PHOTO_KIND) if photo is not None and photo.filename else None
    row = AfterSalesRequest(
        order_id=order.id,
        order_item_id=item.id,
        merchant_id=order.window.merchant_id,
        leader_id=order.leader_id,
        reason=reason,
        quantity=qty,
        note=note,
        photo_name=photo_name,
        opened_by=opened_by,
        open_item_id=item.id,
        created_at=clock.now(),
    )
    try:
        db.session.add(row)
        db.session.flush()
        audit.record(opened_by, "after_sales_open", "order", order.id, request_id=row.id, reason=reason, quantity=qty)
        notifications.enqueue(
            "after_sales",
            user_ids=[*_merchant_user_ids(row.merchant_id), *_leader_user_id(order.leader_id)],
            title=message(N_("After-sales request for order %(number)s"), number=order.number),
            body=message(N_("%(product)s × %(qty)d: %(note)s"), product=item.product_name, qty=qty, note=note or "—"),
            link=f"/merchant/after-sales/{row.id}",
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        photos.discard(PHOTO_KIND, photo_name)
        raise AlreadyOpen() from None
    except BaseException:
        db.session.rollback()
        photos.discard(PHOTO_KIND, photo_name)
        raise
    return row


def open_from_form(order: Order, form, files, *, opened_by: str) -> AfterSalesRequest:
    """open_request with the fields of the after-sales form (templates/_after_sales.html)."""
    return open_request(
        order,
        item_id=form.get("item_id"),
        reason=form.get("reason"),
        quantity=form.get("quantity"),
        note=form.get("note"),
        photo=files.get("photo"),
        opened_by=opened_by,
    )


def parse_decision(action: str, amount: str, note: str, req: AfterSalesRequest) -> tuple[bool, int | None, str]:
    """(approve, refund fen, note) from the merchant's form; ValidationFailed names bad fields."""
    fields = {}
    note = " ".join((note or "").split())
    if len(note) > 200 or has_control_chars(note):
        fields["note"] = _("Write at most 200 characters.")
    if action not in ("approve", "reject"):
        fields["action"] = _("Choose to refund or to reject.")
    refund_fen = None
    if action == "approve":
        try:
            refund_fen = parse_yuan(amount or "")
        except ValueError:
            refund_fen = None
        if req.claimable_fen <= 0:
            fields["amount"] = _("Nothing is left to refund on this item; reject the request with a reason.")
        elif refund_fen is None or not 0 < refund_fen <= req.claimable_fen:
            most = format_yuan(req.claimable_fen)
            fields["amount"] = _("Enter an amount from ¥0.01 to %(max)s.", max=most)
    elif action == "reject" and not note:
        fields["note"] = _("Say why the request is rejected.")
    if fields:
        raise ValidationFailed(fields=fields)
    return action == "approve", refund_fen, note


def decide(
    actor: str, req: AfterSalesRequest, *, approve: bool, refund_fen: int | None, note: str
) -> AfterSalesRequest:
    """Approve with a refund or reject, once; a second decision is AlreadyDecided."""
    now = clock.now()
    status = "approved" if approve else "rejected"
    if not _claim_decision(req, status, actor, now, note, refund_fen if approve else None):
        db.session.rollback()
        raise AlreadyDecided()
    order = db.session.get(Order, req.order_id)
    try:
        refund_id = None
        if approve:
            # The line's compare-and-set refuses (nothing written, no provider asked) what an
            # earlier refund of the line (a shortage, another request) has left no room for.
            refund_id = payments.refund_lines(order, {req.order_item_id: refund_fen}, "after_sales", actor).id
            db.session.execute(
                update(AfterSalesRequest).where(AfterSalesRequest.id == req.id).values(refund_id=refund_id)
            )
        detail = {"request_id": req.id, "refund_fen": refund_fen, "note": note}
        lifecycle.note(order, actor, reason=f"after-sales {status}", detail=detail, at=now)
        audit.record(
            actor,
            "after_sales_decide",
            "order",
            order.id,
            request_id=req.id,
            status=status,
            refund_fen=refund_fen,
            refund_id=refund_id,
            note=note,
        )
        _tell_leader(order, approve, refund_fen, note)
        db.session.commit()
    except DomainError:
        db.session.rollback()
        raise
    db.session.expire_all()
    return db.session.get(AfterSalesRequest, req.id)


def _claim_decision(req: AfterSalesRequest, status: str, actor: str, now, note: str, refund_fen: int | None) -> bool:
    """open → approved/rejected, once (compare-and-set)."""
    return bool(
        db.session.execute(
            update(AfterSalesRequest)
            .where(AfterSalesRequest.id == req.id, AfterSalesRequest.status == "open")
            .values(
                status=status,
                open_item_id=None,
                decided_by=actor,
                decided_at=now,
                decision_note=note,
                refund_fen=refund_fen,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def _tell_leader(order: Order, approve: bool, refund_fen: int | None, note: str) -> None:
    title = (
        message(
            N_("After-sales for order %(number)s: refunded %(amount)s"),
            number=order.number,
            amount=format_yuan(refund_fen),
        )
        if approve
        else message(N_("After-sales for order %(number)s rejected"), number=order.number)
    )
    notifications.enqueue(
        "after_sales",
        user_ids=_leader_user_id(order.leader_id),
        title=title,
        body=note,
        link=f"/leader/orders/{order.id}",
    )


# ---- reading, scoped to who asks


def _with_lines(stmt):
    return stmt.options(selectinload(AfterSalesRequest.item), selectinload(AfterSalesRequest.order))


def for_merchant(merchant_id: int, status: str | None = "open", limit: int = 200) -> list[AfterSalesRequest]:
    stmt = select(AfterSalesRequest).where(AfterSalesRequest.merchant_id == merchant_id)
    if status:
        stmt = stmt.where(AfterSalesRequest.status == status)
    return list(db.session.scalars(_with_lines(stmt).order_by(AfterSalesRequest.id.desc()).limit(limit)))


def merchant_request(merchant_id: int, request_id: int) -> AfterSalesRequest:
    return scoped_or_404(
        _with_lines(select(AfterSalesRequest)).where(
            AfterSalesRequest.id == request_id, AfterSalesRequest.merchant_id == merchant_id
        )
    )


def for_leader(leader_id: int, limit: int = 100) -> list[AfterSalesRequest]:
    stmt = select(AfterSalesRequest).where(AfterSalesRequest.leader_id == leader_id)
    # Open ones first: they are what the leader may still chase with the merchant.
    stmt = stmt.order_by((AfterSalesRequest.status == "open").desc(), AfterSalesRequest.id.desc()).limit(limit)
    return list(db.session.scalars(_with_lines(stmt)))


def leader_request(leader_id: int, request_id: int) -> AfterSalesRequest:
    return scoped_or_404(
        select(AfterSalesRequest).where(AfterSalesRequest.id == request_id, AfterSalesRequest.leader_id == leader_id)
    )


def for_order(order_id: int) -> list[AfterSalesRequest]:
    stmt = select(AfterSalesRequest).where(AfterSalesRequest.order_id == order_id).order_by(AfterSalesRequest.id)
    return list(db.session.scalars(_with_lines(stmt)))
