from sqlalchemy import func, select

from app.extensions import db
from app.jobs import JOBS, build_scheduler, resolve
from app.models import Notification
from app.services.notify import notifications, outbox


def test_every_job_resolves_to_a_service_function(app):
    for job_id in JOBS:
        assert callable(resolve(job_id))


def test_scheduler_registers_each_job_once_under_a_stable_id(app):
    scheduler = build_scheduler(app)
    assert sorted(job.id for job in scheduler.get_jobs()) == sorted(JOBS)
    build_scheduler(app)  # building again replaces rather than duplicates
    assert len(scheduler.get_jobs()) == len(JOBS)


def test_outbox_delivery_is_safe_to_rerun(app, make_user):
    user = make_user()
    notifications.enqueue("test", user_ids=[user.id, user.id], title="hello")
    db.session.commit()
    assert outbox.deliver_outbox() == 1
    assert outbox.deliver_outbox() == 0
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 1
    assert notifications.unread_count(user.id) == 1


def test_rolled_back_change_sends_nothing(app, make_user):
    user = make_user()
    notifications.enqueue("test", user_ids=[user.id], title="never")
    db.session.rollback()
    assert outbox.deliver_outbox() == 0
