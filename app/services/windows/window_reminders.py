""" "Closing soon": tell the leaders of an open window shortly before its cut-off, once.

The job selects open windows whose cut-off falls within WINDOW_CLOSING_SOON_MINUTES and that
were not announced yet, and marks each with a compare-and-set on `closing_soon_at` in the same
transaction as the outbox message, so two schedulers or a re-run announce it once.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from app.extensions import db
from app.models import Window, WindowItem
from app.services.core import clock
from app.services.notify import notifications
from app.services.notify.notification_texts import N_, message
from app.services.windows.windows import leader_user_ids


def announce_closing_soon(limit: int = 100) -> int:
    """Queue one "closing soon" notification per window about to close; returns how many."""
    now = clock.now()
    horizon = now + timedelta(minutes=current_app.config["WINDOW_CLOSING_SOON_MINUTES"])
    due = db.session.scalars(
        select(Window.id)
        .where(
            Window.status == "open",
            Window.closing_soon_at.is_(None),
            Window.closes_at > now,
            Window.closes_at <= horizon,
        )
        .order_by(Window.closes_at)
        .limit(limit)
    ).all()
    db.session.commit()
    announced = 0
    for window_id in due:
        claimed = db.session.execute(
            update(Window)
            .where(Window.id == window_id, Window.status == "open", Window.closing_soon_at.is_(None))
            .values(closing_soon_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            db.session.rollback()
            continue
        window = db.session.get(Window, window_id)
        sold = sum(
            item.sold for item in db.session.scalars(select(WindowItem).where(WindowItem.window_id == window_id))
        )
        minutes = max(1, int((window.closes_at - now).total_seconds() // 60))
        notifications.enqueue(
            "window_closing",
            user_ids=leader_user_ids(window),
            title=message(N_("Closing in %(minutes)d min: %(title)s"), minutes=minutes, title=window.title),
            body=message(N_("%(units)d units sold so far."), units=sold),
            link="/leader/",
        )
        db.session.commit()
        announced += 1
    return announced
