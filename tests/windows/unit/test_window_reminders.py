"""Leaders hear once that a window closes soon, whatever re-runs or races the job."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import OutboxMessage, Window
from app.services.notify import notification_texts
from app.services.windows import window_reminders
from tests.support.threads import run_at_once


def _announcements() -> list[OutboxMessage]:
    db.session.rollback()
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "window_closing")))


def test_an_open_window_about_to_close_is_announced_to_its_leaders_once(app, frozen_clock, make_window, make_leader):
    leader = make_leader("阳光小区")
    window = make_window(
        leaders=[leader],
        opens_at=frozen_clock.now - timedelta(hours=2),
        closes_at=frozen_clock.now + timedelta(minutes=20),
        title="周末水果团",
    )
    assert window_reminders.announce_closing_soon() == 1
    assert window_reminders.announce_closing_soon() == 0
    [message] = _announcements()
    assert message.payload["user_ids"] == [leader.user_id]
    title = notification_texts.render(message.payload["title"], "en")
    assert title == "Closing in 20 min: 周末水果团"
    assert notification_texts.render(message.payload["title"], "zh") == "20 分钟后截单：周末水果团"
    assert db.session.get(Window, window.id).closing_soon_at == frozen_clock.now


@pytest.mark.parametrize(
    ("minutes", "status"),
    [(45, "open"), (-1, "open"), (10, "closed"), (10, "scheduled")],
    ids=["too early", "already past cut-off", "closed", "not open"],
)
def test_windows_not_about_to_close_are_left_alone(app, frozen_clock, make_window, minutes, status):
    make_window(
        status=status,
        opens_at=frozen_clock.now - timedelta(hours=2),
        closes_at=frozen_clock.now + timedelta(minutes=minutes),
    )
    assert window_reminders.announce_closing_soon() == 0
    assert _announcements() == []


def test_the_lead_time_is_configurable(app, frozen_clock, make_window):
    app.config["WINDOW_CLOSING_SOON_MINUTES"] = 60
    make_window(opens_at=frozen_clock.now - timedelta(hours=2), closes_at=frozen_clock.now + timedelta(minutes=45))
    assert window_reminders.announce_closing_soon() == 1


def test_two_schedulers_at_once_announce_a_window_once(app, frozen_clock, make_window, make_leader):
    make_window(
        leaders=[make_leader()],
        opens_at=frozen_clock.now - timedelta(hours=2),
        closes_at=frozen_clock.now + timedelta(minutes=5),
    )
    db.session.commit()
    counts = run_at_once(app, window_reminders.announce_closing_soon)
    assert sorted(counts) == [0, 1]
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
