"""The leader's customers: who ordered through them, how often, how much, and when last.

Customers have no accounts: a customer is a phone number on the leader's orders. Phones are
shown masked; calling one goes through `reveal_phone`, which audits who looked it up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import Leader, Order, User
from app.permissions import scoped_or_404
from app.services.core import audit
from app.services.core.checks import has_control_chars
from app.services.core.text import mask_phone

PAGE_SIZE = 50
# Orders that were a real purchase (money taken at some point): the counts a leader cares about.
BOUGHT = ("paid", "confirmed", "ready_for_pickup", "completed", "refunded")


@dataclass(frozen=True)
class Customer:
    name: str
    phone_masked: str
    orders: int
    spent_fen: int
    last_order_at: datetime
    last_order_id: int


def customer_matches(query: str) -> list:
    """Conditions on orders for a search box: the customer's name contains it, or the phone
    ends with its digits (four or more). Wildcards are searched literally."""
    query = query.strip()[:40]
    digits = re.sub(r"\D", "", query)
    conditions = [Order.customer_name.contains(query, autoescape=True)] if query else []
    if len(digits) >= 4:
        conditions.append(Order.customer_phone.endswith(digits, autoescape=True))
    return conditions


def list_customers(leader: Leader, *, query: str = "", page: int = 1) -> tuple[list[Customer], int]:
    """One row per phone number that bought through this leader, most recent first; and the total."""
    if has_control_chars(query or ""):
        return [], 0  # no name or phone holds one (and PostgreSQL refuses NUL in a pattern)
    stmt = select(
        Order.customer_phone,
        func.max(Order.customer_name),
        func.count(Order.id),
        func.coalesce(func.sum(Order.paid_fen - Order.refunded_fen), 0),
        func.max(Order.created_at),
        func.max(Order.id),
    ).where(Order.leader_id == leader.id, Order.status.in_(BOUGHT))
    conditions = customer_matches(query or "")
    if conditions:
        stmt = stmt.where(or_(*conditions))
    stmt = stmt.group_by(Order.customer_phone)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = max(1, min(page, 10_000))
    rows = db.session.execute(
        stmt.order_by(func.max(Order.created_at).desc(), Order.customer_phone)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    customers = [
        Customer(
            name=name,
            phone_masked=mask_phone(phone),
            orders=count,
            spent_fen=int(spent),
            last_order_at=last_at,
            last_order_id=last_id,
        )
        for phone, name, count, spent, last_at, last_id in rows
    ]
    return customers, total


def reveal_phone(leader: Leader, user: User, order_id: int) -> str:
    """The full phone number of one of this leader's orders, for a call; audited."""
    order = scoped_or_404(select(Order).where(Order.id == order_id, Order.leader_id == leader.id))
    audit.record(audit.actor_for(user), "customer_phone_revealed", "order", order.id, leader_id=leader.id)
    db.session.commit()
    return order.customer_phone
