"""Editing the price and stock of many products at once, from the products list.

The list sends every row's price and stock beside the values it showed; only rows that differ
are changes. Every change is checked first, then all are applied in one transaction or none:
a stock is only overwritten if it is still what the list showed (orders may have taken some
meanwhile), else that row is reported and nothing is saved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select, update

from app.extensions import db
from app.models import Product
from app.services.catalog import catalog
from app.services.catalog.stock import sync_stock_alerts
from app.services.core import audit
from app.services.core.errors import ValidationFailed
from app.services.core.text import parse_yuan

_FIELD = re.compile(r"^(price|stock)-(\d{1,12})$")
MAX_ROWS = 500


@dataclass
class Change:
    product_id: int
    price_fen: int | None = None
    stock: int | None = None
    stock_seen: int | None = None


class BulkRejected(ValidationFailed):
    """Nothing was saved; `rows` maps a product id to its field errors."""

    def __init__(self, rows: dict[int, dict[str, str]]):
        super().__init__(_("Nothing was saved: %(n)d row(s) need a look.", n=len(rows)))
        self.rows = rows


def parse(form) -> list[Change]:
    """The changed rows of the list's form; BulkRejected names each bad value."""
    changes: dict[int, Change] = {}
    errors: dict[int, dict[str, str]] = {}
    for key in form:
        match = _FIELD.match(key)
        if not match:
            continue
        field, product_id = match.group(1), int(match.group(2))
        value, seen = (form.get(key) or "").strip(), (form.get(f"{field}_seen-{product_id}") or "").strip()
        if value == seen:
            continue
        change = changes.setdefault(product_id, Change(product_id))
        if field == "price":
            try:
                fen = parse_yuan(value)
            except ValueError:
                fen = None
            if fen is None or fen > catalog.MAX_PRICE_FEN:
                errors.setdefault(product_id, {})["price"] = _("Enter a price such as 12.50.")
            change.price_fen = fen
        else:
            ok = value.isdigit() and len(value) <= 9 and int(value) <= catalog.MAX_STOCK
            if not ok or not seen.isdigit() or len(seen) > 9:
                errors.setdefault(product_id, {})["stock"] = _(
                    "Enter a whole number from 0 to %(n)d.", n=catalog.MAX_STOCK
                )
            else:
                change.stock, change.stock_seen = int(value), int(seen)
    if len(changes) > MAX_ROWS:
        raise ValidationFailed(_("Change at most %(n)d rows at a time.", n=MAX_ROWS))
    if errors:
        raise BulkRejected(errors)
    return list(changes.values())


def apply(merchant_id: int, changes: list[Change], *, actor: str) -> int:
    """Apply every change or none; returns how many products changed."""
    if not changes:
        return 0
    ids = [c.product_id for c in changes]
    mine = set(db.session.scalars(select(Product.id).where(Product.id.in_(ids), Product.merchant_id == merchant_id)))
    errors: dict[int, dict[str, str]] = {
        pid: {"price": _("Not one of your products.")} for pid in ids if pid not in mine
    }
    if errors:
        raise BulkRejected(errors)
    for change in changes:
        values = {}
        stmt = update(Product).where(Product.id == change.product_id, Product.merchant_id == merchant_id)
        if change.price_fen is not None:
            values["price_fen"] = change.price_fen
        if change.stock is not None:
            values["stock"] = change.stock
            stmt = stmt.where(Product.stock == change.stock_seen)
        if not db.session.execute(stmt.values(**values).execution_options(synchronize_session=False)).rowcount:
            now = db.session.scalar(select(Product.stock).where(Product.id == change.product_id))
            errors[change.product_id] = {"stock": _("Stock changed to %(n)d meanwhile; check it.", n=now)}
        else:
            audit.record(actor, "product.bulk_edited", "product", change.product_id, **values)
    if errors:
        db.session.rollback()
        raise BulkRejected(errors)
    sync_stock_alerts(ids)
    db.session.commit()
    return len(changes)
