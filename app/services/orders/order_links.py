"""The order behind a customer's link (the access token in /o/<token>), for every part of the
orders domain that starts from one: the order page, paying, cancelling, after-sales."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Order
from app.services.core.errors import NotFound


def get_order_by_token(token: str) -> Order:
    """The order behind a customer's link; a wrong token is indistinguishable from none."""
    order = None
    if token and len(token) <= 64:
        order = db.session.scalar(select(Order).where(Order.access_token == token))
    if order is None:
        raise NotFound()
    return order
