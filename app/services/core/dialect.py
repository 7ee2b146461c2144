"""What differs between SQLite and PostgreSQL and must be chosen per statement."""

from __future__ import annotations

from app.extensions import db


def insert_for_dialect():
    """The dialect's `insert`, which has ON CONFLICT (upsert) support on both engines."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert
