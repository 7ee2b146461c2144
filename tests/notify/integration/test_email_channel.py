"""The optional email channel: notifications reach the owner's mailbox through the operator's
SMTP server (a loopback aiosmtpd here), in the owner's language, once, with retries; refused
addresses give up; the kind is offered only where SMTP is set up."""

from __future__ import annotations

import email
import socket
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app.extensions import db
from app.models import ChannelDelivery
from app.services.core.errors import ValidationFailed
from app.services.notify import channel_delivery, channels, notifications, outbox
from app.services.notify.notification_texts import N_, message
from tests.support.forms import post_form
from tests.support.platform import isolated_client


class Mailbox:
    """Collects what the SMTP server is given; answers 550 for addresses in `refuse`."""

    def __init__(self):
        self.mails: list[email.message.EmailMessage] = []
        self.envelopes = []
        self.refuse: set[str] = set()
        self.busy = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802, ARG002
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        if self.busy:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802, ARG002
        self.envelopes.append(envelope)
        self.mails.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mailbox(app, monkeypatch):
    box = Mailbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    for key, value in {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": port,
        "SMTP_STARTTLS": False,
        "MAIL_FROM": "GroupBuy <noreply@groupbuy.test>",
    }.items():
        monkeypatch.setitem(app.config, key, value)
    yield box
    controller.stop()


def _add(user, address="leader@example.com", events=("window_closed",)):
    return channels.create_channel(
        user, channels.ChannelInput(name="邮箱", kind="email", url=address, events=list(events))
    )


def _notify(user):
    notifications.enqueue(
        "window_closed",
        user_ids=[user.id],
        title=message(N_("Goods arrived at %(point)s"), point="东门自提点"),
        body="32 单已确认",
        link="/leader/orders",
    )
    db.session.commit()


def _run() -> int:
    outbox.deliver_outbox()
    return channel_delivery.deliver_channels()


def test_a_notification_is_mailed_once_in_the_owners_language(app, mailbox, make_user):
    user = make_user("团长")
    user.locale = "en"
    db.session.commit()
    _add(user)
    _notify(user)
    assert _run() == 1
    assert _run() == 0  # a re-run sends nothing more
    [mail] = mailbox.mails
    assert mail["To"] == "leader@example.com" and "groupbuy.test" in mail["From"]
    assert mail["Subject"] == "Goods arrived at 东门自提点"
    text = mail.get_content()
    assert "32 单已确认" in text and "http://" in text and "/leader/orders" in text
    assert "delivery-" in mail["Message-ID"]
    [delivery] = db.session.scalars(select(ChannelDelivery)).all()
    assert (delivery.status, delivery.response_status) == ("sent", 250)


def test_a_chinese_reader_gets_a_chinese_subject(app, mailbox, make_user):
    user = make_user("团长")
    user.locale = "zh"
    db.session.commit()
    _add(user)
    _notify(user)
    _run()
    assert mailbox.mails[0]["Subject"] == "东门自提点 已到货"


def test_a_busy_server_is_retried_and_a_refused_address_gives_up(app, mailbox, make_user, frozen_clock):
    user = make_user()
    _add(user, "busy@example.com")
    _add(user, "gone@example.com")
    mailbox.refuse = {"gone@example.com"}
    mailbox.busy = True
    _notify(user)
    assert _run() == 0
    statuses = dict(db.session.execute(select(ChannelDelivery.channel_id, ChannelDelivery.status)).all())
    assert sorted(statuses.values()) == ["failed", "pending"]
    mailbox.busy = False
    frozen_clock.advance(minutes=5)
    assert _run() == 1
    assert [m["To"] for m in mailbox.mails] == ["busy@example.com"]


def test_an_unreachable_server_is_a_recorded_retry_not_a_crash(app, mailbox, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_PORT", _free_port())  # nothing listens there
    user = make_user()
    _add(user)
    _notify(user)
    assert _run() == 0
    delivery = db.session.scalar(select(ChannelDelivery))
    assert delivery.status == "pending" and "Connection" in delivery.last_error


@pytest.mark.parametrize(
    "address",
    ["not-an-address", "a@b", "x" * 250 + "@example.com", "a@exa mple.com", "a@example.com\r\nBcc: x@y.z", ""],
)
def test_bad_addresses_are_refused(app, mailbox, make_user, address):
    user = make_user()
    with pytest.raises(ValidationFailed) as caught:
        _add(user, address)
    assert "url" in caught.value.fields
    assert channels.list_channels(user) == []


def test_without_smtp_the_kind_is_neither_offered_nor_accepted(app, make_user, login):
    app.config["SMTP_HOST"] = ""
    with pytest.raises(ValidationFailed) as caught:
        _add(make_user())
    assert "kind" in caught.value.fields
    client = isolated_client(app)
    user = make_user()
    login(user, c=client)
    assert 'value="email"' not in client.get("/account/channels").get_data(as_text=True)


def test_the_settings_page_adds_an_email_channel(app, mailbox, make_user, login):
    client = isolated_client(app)
    user = make_user()
    login(user, c=client)
    page = client.get("/account/channels")
    assert 'value="email"' in page.get_data(as_text=True)
    response = post_form(
        client,
        "/account/channels",
        {"name": "我的邮箱", "kind": "email", "url": "me@example.com", "events": ["window_closed"]},
    )
    assert response.status_code in (302, 303)
    [channel] = channels.list_channels(user)
    assert (channel.kind, channel.url, channel.secret) == ("email", "me@example.com", None)
