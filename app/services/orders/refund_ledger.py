"""The merchant's refund ledger: every refund of its orders, why, and whether it is paid back."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Order, Refund, Window
from app.services.core.paging import paginate


def _of_merchant(stmt, merchant_id: int):
    return (
        stmt.join(Order, Order.id == Refund.order_id)
        .join(Window, Window.id == Order.window_id)
        .where(Window.merchant_id == merchant_id)
    )


def refunds(merchant_id: int, *, status: str | None = None, page: int = 1):
    stmt = _of_merchant(select(Refund), merchant_id).options(selectinload(Refund.order))
    if status:
        stmt = stmt.where(Refund.status == status)
    return paginate(stmt.order_by(Refund.created_at.desc(), Refund.id.desc()), page)


def totals(merchant_id: int) -> dict[str, dict[str, int]]:
    """{status: {"count": n, "fen": amount}} over every refund of the merchant's orders."""
    rows = db.session.execute(
        _of_merchant(
            select(Refund.status, func.count(Refund.id), func.coalesce(func.sum(Refund.amount_fen), 0)), merchant_id
        ).group_by(Refund.status)
    ).all()
    return {status: {"count": n, "fen": int(fen)} for status, n, fen in rows}
