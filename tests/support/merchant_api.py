"""Helpers for merchant API tests: a snapshot of every row the API can touch, and a runner
that sends a list of bad requests and reports each answer that is wrong or changed a row."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import AuditRecord, Notification, OutboxMessage, Product, StockAlert, Window, WindowItem, WindowLeader
from app.services.accounts.tokens import create_token
from tests.support.merchant import T0

API = "/api/v1/merchant"
TOUCHED = (Product, StockAlert, Window, WindowItem, WindowLeader, AuditRecord, Notification, OutboxMessage)


class Raw(str):
    """A body sent as it is, with Content-Type application/json: expected to be 400 bad_json."""


LONG = "长" * 121
HUGE = 10**12
BAD_JSON = (Raw('{"name": "苹果", '), (400, "bad_json"))
NOT_JSON_OBJECT = ([], {"body"})


def bearer(user) -> dict:
    _token, plain = create_token(user, "erp")
    return {"Authorization": f"Bearer {plain}"}


def snapshot() -> dict:
    """Every row of every table the merchant API writes, read fresh from the database."""
    return {
        model.__tablename__: db.session.execute(select(model.__table__).order_by(model.__table__.c.id)).all()
        for model in TOUCHED
    }


def refusals(client, method: str, url: str, cases, headers: dict) -> list:
    """Send each (body, expected) and list the answers that differ or that changed the database.

    `expected` is the set of field paths of a 422, or a (status, error code) pair.
    """
    failures = []
    before = snapshot()
    for body, expected in cases:
        if isinstance(body, Raw):
            kwargs = {"data": str(body), "content_type": "application/json"}
        else:
            kwargs = {"json": body}
        response = client.open(url, method=method, headers=headers, **kwargs)
        error = (response.get_json() or {}).get("error", {}) if response.is_json else {}
        if isinstance(expected, tuple):
            ok = (response.status_code, error.get("code")) == expected
        else:
            ok = response.status_code == 422 and set(error.get("fields") or {}) == set(expected)
            ok = ok and all(isinstance(m, str) and m for m in error["fields"].values())
        if not ok:
            failures.append((body if len(str(body)) < 200 else str(body)[:200], response.status_code, error))
        after = snapshot()
        if after != before:
            failures.append((str(body)[:200], "changed the database"))
            before = after
    return failures


def window_body(*products, **overrides) -> dict:
    """Opens 11:00 and closes tomorrow 20:00 Shanghai time; the frozen clock says 10:00."""
    body = {
        "title": "周末水果团",
        "opens_at": "2026-11-22T11:00:00+08:00",
        "closes_at": "2026-11-23T20:00:00+08:00",
        "pickup_date": "2026-11-24",
        "items": [{"product_id": p.id, "group_price_fen": 990} for p in products],
    }
    body.update(overrides)
    return body


def draft_window(make_window, merchant, product, status="draft"):
    """A window of one product, opening in an hour and closing in a day, written straight to the database."""
    return make_window(
        merchant,
        items=[{"product": product}],
        status=status,
        opens_at=T0 + timedelta(hours=1),
        closes_at=T0 + timedelta(days=1),
    )
