"""Windows: the draft → scheduled → open machine, the open job, and who may sell."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage
from app.services.core.errors import InvalidTransition, ValidationFailed
from app.services.windows import window_editing as editing
from app.services.windows import windows
from tests.support.merchant import T0, window_at, window_input, window_status

# ---- state machine


def test_schedule_needs_an_item_and_a_future_cut_off(frozen_clock, make_merchant, make_product):
    merchant = make_merchant()
    empty = editing.create_window(merchant, window_input([]))
    with pytest.raises(ValidationFailed):
        windows.schedule_window(empty)
    assert window_status(empty.id) == "draft"

    late = editing.create_window(merchant, window_input([make_product(merchant)]))
    frozen_clock.advance(days=1)
    with pytest.raises(ValidationFailed) as caught:
        windows.schedule_window(late)
    assert "closes_at" in caught.value.fields
    assert window_status(late.id) == "draft"


def test_schedule_twice_and_unschedule_follow_the_machine(frozen_clock, make_merchant, make_product):
    merchant = make_merchant()
    window = editing.create_window(merchant, window_input([make_product(merchant)]))
    windows.schedule_window(window)
    with pytest.raises(InvalidTransition):
        windows.schedule_window(window)
    windows.unschedule_window(window)
    assert window_status(window.id) == "draft"
    with pytest.raises(InvalidTransition):
        windows.unschedule_window(window)


def test_schedule_refuses_a_product_unlisted_since(frozen_clock, make_merchant, make_product):
    merchant = make_merchant()
    product = make_product(merchant)
    window = editing.create_window(merchant, window_input([product]))
    product.listed = False
    db.session.commit()
    with pytest.raises(ValidationFailed):
        windows.schedule_window(window)


def test_open_job_opens_due_windows_once_and_rerun_does_nothing(frozen_clock, make_merchant, make_product, make_window):
    merchant = make_merchant()
    product = make_product(merchant)
    due = window_at(
        make_window,
        merchant,
        product,
        status="scheduled",
        opens=T0 - timedelta(minutes=1),
        closes=T0 + timedelta(hours=3),
    )
    later = window_at(
        make_window,
        merchant,
        product,
        status="scheduled",
        opens=T0 + timedelta(hours=1),
        closes=T0 + timedelta(hours=3),
    )
    missed = window_at(
        make_window,
        merchant,
        product,
        status="scheduled",
        opens=T0 - timedelta(hours=3),
        closes=T0 - timedelta(hours=1),
    )
    draft = window_at(
        make_window, merchant, product, status="draft", opens=T0 - timedelta(hours=1), closes=T0 + timedelta(hours=3)
    )

    assert windows.open_due_windows() == 1
    assert windows.open_due_windows() == 0
    assert [window_status(w.id) for w in (due, later, missed, draft)] == ["open", "scheduled", "scheduled", "draft"]

    frozen_clock.advance(hours=1)
    assert windows.open_due_windows() == 1
    assert window_status(later.id) == "open"


def test_open_job_run_by_two_schedulers_opens_each_window_once(
    app, frozen_clock, make_merchant, make_product, make_window, make_leader
):
    make_leader()  # someone to announce each opening to
    merchant = make_merchant()
    product = make_product(merchant)
    ids = [
        window_at(
            make_window,
            merchant,
            product,
            status="scheduled",
            opens=T0 - timedelta(minutes=5),
            closes=T0 + timedelta(hours=1),
        ).id
        for _ in range(5)
    ]
    counts, errors = [], []

    def scheduler():
        with app.app_context():
            try:
                counts.append(windows.open_due_windows())
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sum(counts) == 5
    db.session.rollback()
    assert {window_status(i) for i in ids} == {"open"}
    assert len(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "window_open")).all()) == 5


def test_opening_notifies_only_the_chosen_leaders(frozen_clock, make_merchant, make_product, make_leader, make_window):
    merchant = make_merchant()
    chosen, other = make_leader(), make_leader()
    window_at(
        make_window,
        merchant,
        make_product(merchant),
        status="scheduled",
        opens=T0,
        closes=T0 + timedelta(hours=1),
        leaders=[chosen],
    )
    windows.open_due_windows()
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "window_open"))
    assert message.payload["user_ids"] == [chosen.user_id]
    assert other.user_id not in message.payload["user_ids"]


def test_open_now_only_after_the_opening_time(frozen_clock, make_merchant, make_product, make_window):
    merchant = make_merchant()
    window = window_at(
        make_window,
        merchant,
        make_product(merchant),
        status="scheduled",
        opens=T0 + timedelta(minutes=30),
        closes=T0 + timedelta(hours=3),
    )
    with pytest.raises(InvalidTransition):
        windows.open_window_now(window)
    assert window_status(window.id) == "scheduled"
    frozen_clock.advance(minutes=30)
    windows.open_window_now(window)
    assert window_status(window.id) == "open"
    with pytest.raises(InvalidTransition):
        windows.open_window_now(window)


# ---- who may sell


def test_sellable_by_and_windows_for_leader(frozen_clock, make_merchant, make_product, make_leader, make_window):
    merchant = make_merchant()
    product = make_product(merchant)
    chosen, outsider = make_leader(), make_leader()
    opens, closes = T0 - timedelta(hours=1), T0 + timedelta(hours=2)
    everyone = window_at(make_window, merchant, product, status="open", opens=opens, closes=closes)
    private = window_at(
        make_window,
        merchant,
        product,
        status="scheduled",
        opens=opens,
        closes=closes + timedelta(hours=1),
        leaders=[chosen],
    )
    draft = window_at(make_window, merchant, product, status="draft", opens=opens, closes=closes)
    closed = window_at(make_window, merchant, product, status="closed", opens=opens, closes=closes)
    missed = window_at(
        make_window,
        merchant,
        product,
        status="scheduled",
        opens=T0 - timedelta(hours=3),
        closes=T0 - timedelta(hours=1),
    )

    assert windows.sellable_by(everyone, outsider) and windows.sellable_by(private, chosen)
    assert not windows.sellable_by(private, outsider)
    assert not windows.sellable_by(everyone, None)
    assert [w.id for w in windows.windows_for_leader(chosen)] == [everyone.id, private.id]
    assert [w.id for w in windows.windows_for_leader(outsider)] == [everyone.id]
    assert draft.id not in {w.id for w in windows.windows_for_leader(chosen)}
    assert closed.id not in {w.id for w in windows.windows_for_leader(chosen)}
    assert missed.id not in {w.id for w in windows.windows_for_leader(chosen)}

    outsider.active = False
    merchant.active = False
    db.session.commit()
    assert not windows.sellable_by(everyone, outsider)
    assert windows.windows_for_leader(chosen) == []
