"""The demo's windows fit the window rules whatever the hour, the day and the zone of the seed.

A real seed takes seconds, so the whole day is walked here on the times alone, at three minutes
of every hour, in zones east and west of UTC (a quarter-hour one among them), on an ordinary day
and on both of Los Angeles' daylight-saving changes; tests/ops/integration/test_demo.py seeds for
real at the hours that used to fail.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.services.ops.demo_timeline import ARRIVAL_AFTER, HISTORY_DAYS, timeline

ZONES = ["Asia/Shanghai", "UTC", "America/Los_Angeles", "Pacific/Kiritimati", "Pacific/Chatham"]
DAYS = [date(2026, 11, 22), date(2026, 3, 8), date(2026, 11, 1)]  # ordinary, spring forward, fall back


def _instants(zone: ZoneInfo) -> list[datetime]:
    return [
        datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)
        for day in DAYS
        for hour in range(24)
        for minute in (0, 30, 59)
    ]


def _local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


@pytest.mark.parametrize("zone_name", ZONES)
def test_every_demo_window_fits_the_window_rules_at_every_hour(zone_name):
    zone = ZoneInfo(zone_name)
    for now in _instants(zone):
        plan = timeline(now, zone)
        for slot in [*plan.history, plan.past, plan.live]:
            where = f"{slot.title} seeded at {now.astimezone(zone)}"
            assert slot.opens_at < slot.closes_at, where
            # The rule window_editing enforces on create and update.
            assert slot.pickup_date >= _local_day(slot.closes_at, zone), where
            # Scheduling needs a cut-off still ahead on the (moved) clock.
            assert slot.made_at < slot.closes_at, where
        for slot in [*plan.history, plan.past]:
            # Opened by the open job on the clock it was made on, and over before the seed runs.
            assert slot.opens_at <= slot.made_at and slot.closes_at < now, slot
        # Arrived and collected before the seed runs, one window after another.
        assert len(plan.history) == HISTORY_DAYS
        assert all(slot.closes_at + ARRIVAL_AFTER < now for slot in plan.history)
        assert all(a.closes_at < b.opens_at for a, b in itertools.pairwise(plan.history))
        # The live window is open at the moment of the seed and collected the next day.
        assert plan.live.opens_at <= now < plan.live.closes_at
        assert plan.live.pickup_date == _local_day(now, zone) + timedelta(days=1)


def test_history_window_spanning_local_midnight_is_picked_up_on_its_cut_off_date():
    # 01:30 in Shanghai: yesterday's window opened at 23:30 and closed at 00:30 today.
    shanghai = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 11, 22, 1, 30, tzinfo=shanghai).astimezone(UTC)
    latest = timeline(now, shanghai).history[-1]
    assert latest.opens_at.astimezone(shanghai) == datetime(2026, 11, 20, 23, 30, tzinfo=shanghai)
    assert latest.pickup_date == date(2026, 11, 21)
    assert latest.title.endswith("11-21")
