"""Which databases the suite runs on, and how each is reset between tests."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

from app.extensions import db

IN_CI = bool(os.environ.get("CI"))


def pg_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def require_pg() -> str:
    url = pg_url()
    if url:
        return url
    if IN_CI:
        pytest.fail("TEST_DATABASE_URL is not set: in CI the PostgreSQL suite must run")
    pytest.skip("PostgreSQL suite: set TEST_DATABASE_URL to run it")


def require_redis() -> str:
    """The local Redis the shared rate limits are tested against (database 15 unless told)."""
    import redis

    url = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        return url
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"Redis at {url} is not answering ({exc}): in CI the shared-state tests must run")
        pytest.skip(f"shared-state tests: no Redis at {url} ({exc})")


def reset_pg_schema(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def empty_all_tables(engine_name: str) -> None:
    tables = [t.name for t in db.metadata.sorted_tables]
    if engine_name == "postgresql":
        db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        for name in reversed(tables):
            db.session.execute(text(f"DELETE FROM {name}"))
    db.session.commit()
