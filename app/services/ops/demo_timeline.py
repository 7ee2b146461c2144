"""When each of the demo's windows is made, sells, closes and is collected, for a seed run at any
moment in any zone.

Kept apart from the seed (app/services/ops/demo.py) so that the times can be checked at every hour
of a day in several zones without seeding each time (tests/ops/unit/test_demo_timeline.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

HISTORY_DAYS = 14
# A history window's batches arrive this long after its cut-off (the next morning or so).
ARRIVAL_AFTER = timedelta(hours=19)
HISTORY_TITLE = "每日鲜果团"
PAST_TITLE = "周末水果团 · 上期"
LIVE_TITLE = "今日鲜果蔬菜团"


@dataclass(frozen=True)
class Slot:
    """One window's times: created and scheduled on a clock moved to `made_at`."""

    title: str
    made_at: datetime
    opens_at: datetime
    closes_at: datetime
    pickup_date: date  # a date in the deployment's zone


@dataclass(frozen=True)
class Timeline:
    history: list[Slot]  # a group buy a day for two weeks, oldest first, arrived ARRIVAL_AFTER its cut-off
    past: Slot  # closed an hour ago; one batch arrived
    live: Slot  # open now, closing in ten minutes


def timeline(now: datetime, zone: ZoneInfo) -> Timeline:
    """Every demo window's times for a seed run at `now` (aware) in the deployment's `zone`."""

    def day(moment: datetime) -> date:
        return moment.astimezone(zone).date()

    history = []
    for days_ago in range(HISTORY_DAYS, 0, -1):
        opens = now - timedelta(days=days_ago, hours=2)
        closes = opens + timedelta(hours=1)
        # Picked up on the cut-off's own date: an hour that straddles local midnight (a seed run
        # between 01:00 and 02:00) closes on the day after it opened, and a window's pickup date
        # may not be before its cut-off's date.
        history.append(Slot(f"{HISTORY_TITLE} · {closes.astimezone(zone):%m-%d}", opens, opens, closes, day(closes)))
    earlier = now - timedelta(hours=3)
    past = Slot(PAST_TITLE, earlier, earlier - timedelta(minutes=1), now - timedelta(hours=1), day(now))
    live = Slot(
        LIVE_TITLE,
        now - timedelta(minutes=1),
        now - timedelta(seconds=30),
        now + timedelta(minutes=10),
        day(now) + timedelta(days=1),
    )
    return Timeline(history, past, live)
