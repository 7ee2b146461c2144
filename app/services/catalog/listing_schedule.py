"""Scheduled listing and unlisting: a product goes on sale, or off, at a time the merchant set.

The `apply-listing-schedule` job flips `listed` for every product whose time has come and clears
that time in the same UPDATE, so a re-run (or a second scheduler) changes nothing more.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import update

from app.extensions import db
from app.models import Product
from app.services.core import audit, clock
from app.services.core.errors import ValidationFailed

MAX_AHEAD = timedelta(days=366)


def set_schedule(product: Product, *, list_at: datetime | None, unlist_at: datetime | None, actor: str) -> Product:
    """Set (or, with None, clear) when the product is listed and unlisted."""
    now = clock.now()
    fields = {}
    for name, value in (("list_at", list_at), ("unlist_at", unlist_at)):
        if value is not None and not now - timedelta(minutes=5) <= value <= now + MAX_AHEAD:
            fields[name] = _("Choose a time from now to a year ahead.")
    if list_at and unlist_at and unlist_at <= list_at:
        fields["unlist_at"] = _("Unlisting must come after listing.")
    if fields:
        raise ValidationFailed(fields=fields)
    db.session.execute(
        update(Product)
        .where(Product.id == product.id)
        .values(list_at=list_at, unlist_at=unlist_at)
        .execution_options(synchronize_session=False)
    )
    audit.record(
        actor,
        "product.schedule_set",
        "product",
        product.id,
        list_at=list_at.isoformat() if list_at else None,
        unlist_at=unlist_at.isoformat() if unlist_at else None,
    )
    db.session.commit()
    db.session.refresh(product)
    return product


def apply_listing_schedule() -> int:
    """List and unlist the products whose time has come; returns how many changed."""
    now = clock.now()
    listed = db.session.execute(
        update(Product)
        .where(Product.list_at <= now)
        .values(listed=True, list_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    unlisted = db.session.execute(
        update(Product)
        .where(Product.unlist_at <= now)
        .values(listed=False, unlist_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return listed + unlisted
