"""Per-type preferences for the in-app notification centre: which kinds a user wants to see.

No row means "show it". Robots, webhooks and push have their own per-channel choice of kinds
(services/notify/channels.py); muting a kind here hides it from the centre only.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, select

from app.extensions import db
from app.models import NotificationMute, User
from app.services.core.errors import ValidationFailed
from app.services.notify.notification_texts import EVENTS


def muted_kinds(user_id: int) -> set[str]:
    return set(db.session.scalars(select(NotificationMute.kind).where(NotificationMute.user_id == user_id)))


def shown_kinds(user: User) -> list[str]:
    muted = muted_kinds(user.id)
    return [kind for kind in EVENTS if kind not in muted]


def set_shown_kinds(user: User, kinds: list[str]) -> None:
    """Show exactly these kinds in the user's centre; every other known kind is muted."""
    wanted = set(kinds or [])
    unknown = wanted - set(EVENTS)
    if unknown:
        raise ValidationFailed(fields={"kinds": _("Unknown kind of notification.")})
    db.session.execute(delete(NotificationMute).where(NotificationMute.user_id == user.id))
    db.session.add_all(NotificationMute(user_id=user.id, kind=kind) for kind in EVENTS if kind not in wanted)
    db.session.commit()


def recipients(user_ids: list[int], kind: str) -> list[int]:
    """The users of `user_ids` who have not muted `kind`."""
    if not user_ids:
        return []
    muted = set(
        db.session.scalars(
            select(NotificationMute.user_id).where(
                NotificationMute.user_id.in_(user_ids), NotificationMute.kind == kind
            )
        )
    )
    return [user_id for user_id in user_ids if user_id not in muted]
