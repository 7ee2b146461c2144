"""Leaders hear once a local day per pickup point that bags there are overdue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Order, OutboxMessage
from app.services.leader import uncollected
from app.services.notify import notification_texts
from tests.support.pickup import Bags
from tests.support.threads import run_at_once


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


def _arrived(bag, days_ago, now):
    order = db.session.get(Order, bag.order.id)
    order.arrived_at = now - timedelta(days=days_ago)
    db.session.commit()


def _messages() -> list[OutboxMessage]:
    db.session.rollback()
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "uncollected")))


def test_each_point_with_overdue_bags_is_reported_to_its_leader_once_a_day(app, bags, make_point, frozen_clock):
    app.config["OVERDUE_DAYS"] = 2
    first = bags.make(point=make_point(name="东门"))
    second = bags.make(point=first.point, staff=first.staff, window=first.window)
    fresh = bags.make(point=make_point(name="西门"))
    _arrived(first, 3, frozen_clock.now)
    _arrived(second, 5, frozen_clock.now)
    _arrived(fresh, 1, frozen_clock.now)
    assert uncollected.notify_overdue() == 1
    assert uncollected.notify_overdue() == 0  # a re-run the same day
    [message] = _messages()
    assert message.payload["user_ids"] == [first.point.leader.user_id]
    assert notification_texts.render(message.payload["title"], "zh") == "东门 有 2 单超时未提货"
    assert notification_texts.render(message.payload["title"], "en") == "2 bags not collected at 东门"
    frozen_clock.advance(days=1, minutes=1)  # the next local day, still overdue: told again, and 西门 now too
    assert uncollected.notify_overdue() == 2
    assert len(_messages()) == 3


def test_collected_bags_are_not_reported(app, bags, frozen_clock):
    bag = bags.make()
    _arrived(bag, 9, frozen_clock.now)
    db.session.get(Order, bag.order.id).status = "completed"
    db.session.commit()
    assert uncollected.notify_overdue() == 0 and _messages() == []


def test_two_schedulers_at_once_report_a_point_once(app, bags, frozen_clock):
    _arrived(bags.make(), 9, frozen_clock.now)
    assert sorted(run_at_once(app, uncollected.notify_overdue)) == [0, 1]
    assert len(_messages()) == 1
