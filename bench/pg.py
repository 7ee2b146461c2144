"""The PostgreSQL the close-at-scale figure runs on: its own database, created when missing."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError


def ensure_database(url: str, say: Callable[[str], None]) -> str | None:
    """`url` once its database exists; None (and why) when the server does not answer."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    except OperationalError as exc:
        where = target.render_as_string(hide_password=True)
        say(f"PostgreSQL at {where} does not answer; its figure is left out ({exc.orig})")
        return None
    finally:
        admin.dispose()
    return url


def server_version(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(text("SHOW server_version"))
    finally:
        engine.dispose()
