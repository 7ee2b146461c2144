"""A notification is written in each reader's language, not in the language of whoever caused it."""

from sqlalchemy import select

from app.extensions import db
from app.models import Notification, User
from app.services.notify import notifications, outbox
from app.services.notify.notification_texts import N_, message, render


def test_each_reader_gets_the_notification_in_their_own_language(app, make_user):
    app.config["BABEL_DEFAULT_LOCALE"] = "zh"  # the shipped default
    english, chinese, unset = make_user("Ann"), make_user("王店长"), make_user("李团长")
    db.session.get(User, english.id).locale = "en"
    db.session.get(User, chinese.id).locale = "zh"
    notifications.enqueue(
        "batch_arrived",
        user_ids=[english.id, chinese.id, unset.id],
        title=message(N_("Goods arrived at %(point)s"), point="阳光小区 东门"),
        body="plain text stays as it is",
    )
    db.session.commit()
    outbox.deliver_outbox()
    titles = dict(db.session.execute(select(Notification.user_id, Notification.title)).all())
    assert titles[english.id] == "Goods arrived at 阳光小区 东门"
    assert titles[chinese.id] == render(message(N_("Goods arrived at %(point)s"), point="阳光小区 东门"), "zh")
    assert titles[chinese.id] != titles[english.id]
    assert titles[unset.id] == titles[chinese.id]  # no saved language: the deployment's
    assert {n.body for n in db.session.scalars(select(Notification))} == {"plain text stays as it is"}
