"""The one source of "now", so tests can freeze or move time instead of sleeping."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context


def now() -> datetime:
    """Aware UTC now, or the app's injected clock (config CLOCK) when one is set."""
    if has_app_context():
        clock: Callable[[], datetime] | None = current_app.config.get("CLOCK")
        if clock is not None:
            return clock()
    return datetime.now(UTC)


def local_zone() -> ZoneInfo:
    name = current_app.config.get("TIMEZONE", "Asia/Shanghai") if has_app_context() else "UTC"
    return ZoneInfo(name)


def to_local(value: datetime) -> datetime:
    return value.astimezone(local_zone())


def local_day_start(day: date) -> datetime:
    """Midnight of `day` in the deployment's zone, as aware UTC."""
    return datetime.combine(day, time.min, tzinfo=local_zone()).astimezone(UTC)


def from_local_naive(value: datetime) -> datetime:
    """A naive wall-clock time typed by a user in the deployment's zone, as aware UTC."""
    return value.replace(tzinfo=local_zone()).astimezone(UTC)


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Run services as if it were `moment` (seeding data in the past: demo and benchmarks)."""
    previous = current_app.config.get("CLOCK")
    current_app.config["CLOCK"] = lambda: moment
    try:
        yield
    finally:
        current_app.config["CLOCK"] = previous


def parse_local_input(text: str | None) -> datetime | None:
    """A datetime-local form value ("2026-12-01T14:30") typed in the deployment's zone, as aware
    UTC; None when empty; ValueError when it is not such a value."""
    text = (text or "").strip()
    if not text:
        return None
    if len(text) > 20:
        raise ValueError(text)
    return from_local_naive(datetime.fromisoformat(text))
