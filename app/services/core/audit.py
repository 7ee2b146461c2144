"""Audit records for redemptions and money, written in the caller's transaction."""

from __future__ import annotations

from app.extensions import db
from app.models import AuditRecord


def record(actor: str, action: str, object_type: str, object_id: int | None, **detail) -> None:
    db.session.add(
        AuditRecord(actor=actor, action=action, object_type=object_type, object_id=object_id, detail=detail or None)
    )


def actor_for(user) -> str:
    return f"user:{user.id}" if user is not None and getattr(user, "is_authenticated", False) else "anonymous"
