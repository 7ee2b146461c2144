"""The in-app centre shows only the kinds a user chose; robots and push keep their own choice."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Notification, NotificationMute
from app.services.notify import notification_prefs, notifications, outbox
from tests.support.forms import csrf_from
from tests.support.platform import isolated_client


@pytest.fixture
def client(app):
    return isolated_client(app)


def _send(user, kind):
    notifications.enqueue(kind, user_ids=[user.id], title=f"{kind} title")
    db.session.commit()
    outbox.deliver_outbox()


def _count(model, **where) -> int:
    db.session.rollback()
    stmt = select(func.count()).select_from(model)
    for key, value in where.items():
        stmt = stmt.where(getattr(model, key) == value)
    return db.session.scalar(stmt)


def _save(client, kinds):
    token = csrf_from(client.get("/account/notifications").get_data(as_text=True))
    return client.post("/account/notifications/preferences", data={"kinds": kinds, "csrf_token": token})


def test_muted_kinds_stay_out_of_the_centre_and_the_unread_count(app, client, login, make_user):
    leader, other = make_user("李团长"), make_user("王团长")
    login(leader)
    shown = [k for k in notification_prefs.EVENTS if k != "stock_alert"]
    assert _save(client, shown).status_code == 302
    for kind in ("stock_alert", "window_closed"):
        notifications.enqueue(kind, user_ids=[leader.id, other.id], title=f"{kind} title")
    db.session.commit()
    outbox.deliver_outbox()
    assert _count(Notification, user_id=leader.id) == 1
    assert _count(Notification, user_id=other.id) == 2  # someone else's choice is not mine
    page = client.get("/account/notifications").get_data(as_text=True)
    assert "window_closed title" in page and "stock_alert title" not in page
    assert 'value="stock_alert">' in page and 'value="window_closed" checked' in page


def test_showing_a_kind_again_brings_new_ones_back(app, client, login, make_user):
    leader = make_user("李团长")
    login(leader)
    _save(client, [])
    _send(leader, "batch_arrived")
    assert _count(Notification) == 0
    _save(client, ["batch_arrived"])
    _send(leader, "batch_arrived")
    assert _count(Notification) == 1


@pytest.mark.parametrize("kinds", [["drop table notifications"], ["window_closed", "x" * 500]])
def test_unknown_kinds_are_refused_and_change_nothing(app, client, login, make_user, kinds):
    leader = make_user("李团长")
    login(leader)
    _save(client, ["window_closed"])
    before = _count(NotificationMute)
    response = _save(client, kinds)
    assert response.status_code == 422
    assert "Unknown kind of notification." in response.get_data(as_text=True)
    assert _count(NotificationMute) == before


def test_preferences_need_the_csrf_token(app, client, login, make_user):
    login(make_user("李团长"))
    response = client.post("/account/notifications/preferences", data={"kinds": []})
    assert response.status_code == 400
    assert _count(NotificationMute) == 0
