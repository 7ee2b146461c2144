"""Share links: one short, unguessable slug per window × leader, and the URL/QR built from it."""

from __future__ import annotations

import secrets

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Leader, ShareLink, Window
from app.permissions import scoped_or_404
from app.services.core.errors import NotFound
from app.services.pickup import codes
from app.services.windows import windows

# Lowercase letters and digits without the look-alikes (0/o, 1/l): read aloud or retyped safely.
SLUG_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
SLUG_LENGTH = 8  # 32**8 ≈ 10**12: not worth guessing
_MAX_TRIES = 10


def new_slug() -> str:
    return "".join(secrets.choice(SLUG_ALPHABET) for _ in range(SLUG_LENGTH))


def sellable_window(leader: Leader, window_id: int) -> Window:
    """A window this leader may share now; any other id is NotFound."""
    window = scoped_or_404(select(Window).where(Window.id == window_id, Window.status.in_(windows.SELLABLE)))
    if not windows.sellable_by(window, leader):
        raise NotFound()
    return window


def _existing(window_id: int, leader_id: int) -> ShareLink | None:
    return db.session.scalar(
        select(ShareLink).where(ShareLink.window_id == window_id, ShareLink.leader_id == leader_id)
    )


def find_share_link(window: Window, leader: Leader) -> ShareLink | None:
    """The leader's link for this window if it was made already (read-only)."""
    return _existing(window.id, leader.id)


def shared_window(leader: Leader, window_id: int) -> tuple[Window, ShareLink]:
    """A window this leader may share and the link they made for it; NotFound if either is missing."""
    window = sellable_window(leader, window_id)
    link = find_share_link(window, leader)
    if link is None:
        raise NotFound()
    return window, link


def get_or_create_share_link(window: Window, leader: Leader) -> ShareLink:
    """The leader's link for this window, created on first use; two racing requests get the same one."""
    link = _existing(window.id, leader.id)
    if link is not None:
        return link
    for _ in range(_MAX_TRIES):
        link = ShareLink(window_id=window.id, leader_id=leader.id, slug=new_slug())
        try:
            with db.session.begin_nested():
                db.session.add(link)
        except IntegrityError:
            # Either a racing request made the link (use it) or the slug collided (try another).
            link = _existing(window.id, leader.id)
            if link is not None:
                return link
            continue
        db.session.commit()
        return link
    raise RuntimeError("could not find a free share slug")  # pragma: no cover - 10 collisions at 1e-12


def share_url(link: ShareLink) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/s/{link.slug}"


def share_qr_png(link: ShareLink) -> bytes:
    return codes.qr_png(share_url(link))
