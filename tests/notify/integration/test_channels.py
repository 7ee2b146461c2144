"""Group-chat robots and webhooks: each notification reaches each channel once, in the format
its receiver expects, signed where it must be, retried with backoff, never to private addresses
unless allowed; the settings page refuses bad input and changes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ChannelDelivery, NotificationChannel, OutboxMessage
from app.services.core.errors import NotFound, ValidationFailed
from app.services.notify import channel_delivery, channels, notifications, outbox
from tests.support.forms import post_form
from tests.support.platform import isolated_client
from tests.support.receiver import Receiver

WEBHOOK_SECRET = "s3cret-for-the-json-hook"
DINGTALK_SECRET = "SEC0123456789abcdef"


@pytest.fixture
def receiver(app):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True  # the receiver is on loopback
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def client(app):
    return isolated_client(app)


def add(user, receiver, kind="wecom", events=("window_closed",), secret="", path="/robot"):
    return channels.create_channel(
        user,
        channels.ChannelInput(
            name=f"{kind} 群", kind=kind, url=receiver.url + path, secret=secret, events=list(events)
        ),
    )


def notify(user, kind="window_closed", title="周末水果团 已截单", body="32 单已确认", link="/leader/orders"):
    notifications.enqueue(kind, user_ids=[user.id], title=title, body=body, link=link)
    db.session.commit()


def run_jobs() -> int:
    outbox.deliver_outbox()
    return channel_delivery.deliver_channels()


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_wecom_robot_gets_one_markdown_message_even_when_the_jobs_run_again(app, receiver, make_user):
    leader = make_user("李团长")
    add(leader, receiver, "wecom")
    notify(leader)
    assert run_jobs() == 1
    assert run_jobs() == 0
    assert len(receiver.requests) == 1
    body = receiver.requests[0].json()
    assert body["msgtype"] == "markdown"
    assert "**周末水果团 已截单**" in body["markdown"]["content"]
    assert "32 单已确认" in body["markdown"]["content"]
    # The link is absolute, so it opens from the chat app.
    assert "(http://127.0.0.1:5000/leader/orders)" in body["markdown"]["content"]
    delivery = db.session.scalar(select(ChannelDelivery))
    assert delivery.status == "sent" and delivery.attempts == 1 and delivery.response_status == 200


def test_dingtalk_signed_mode_sends_a_sign_the_robot_can_verify(app, receiver, make_user):
    leader = make_user("李团长")
    add(leader, receiver, "dingtalk", secret=DINGTALK_SECRET, path="/robot/send?access_token=abc")
    notify(leader)
    run_jobs()
    received = receiver.requests[0]
    query = parse_qs(urlsplit(received.path).query)
    assert query["access_token"] == ["abc"]
    timestamp = query["timestamp"][0]
    # What DingTalk computes on its side: base64(HMAC-SHA256(secret, "timestamp\nsecret")).
    expected = hmac.new(DINGTALK_SECRET.encode(), f"{timestamp}\n{DINGTALK_SECRET}".encode(), hashlib.sha256)
    assert query["sign"] == [base64.b64encode(expected.digest()).decode()]
    body = received.json()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "周末水果团 已截单"
    assert body["markdown"]["text"].startswith("#### 周末水果团 已截单")


def test_json_webhook_is_signed_and_carries_its_delivery_id(app, receiver, make_user):
    leader = make_user("李团长")
    add(leader, receiver, "json", secret=WEBHOOK_SECRET, path="/hook")
    notify(leader)
    run_jobs()
    received = receiver.requests[0]
    timestamp = received.headers["X-GroupBuy-Timestamp"]
    mac = hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + received.body, hashlib.sha256).hexdigest()
    assert received.headers["X-GroupBuy-Signature"] == f"sha256={mac}"
    body = json.loads(received.body)
    assert body["event"] == "window_closed" and body["title"] == "周末水果团 已截单"
    assert str(body["delivery_id"]) == received.headers["X-GroupBuy-Delivery"]


def test_a_refused_delivery_is_retried_after_a_backoff_and_then_sent(app, receiver, make_user, frozen_clock):
    leader = make_user("李团长")
    add(leader, receiver, "wecom")
    receiver.answers = [(500, b"busy")]
    notify(leader)
    assert run_jobs() == 0
    delivery = db.session.scalar(select(ChannelDelivery))
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1, "HTTP 500")
    assert delivery.next_attempt_at == frozen_clock.now + timedelta(seconds=30)
    assert run_jobs() == 0 and len(receiver.requests) == 1  # not due yet
    frozen_clock.advance(seconds=31)
    assert run_jobs() == 1
    assert len(receiver.requests) == 2
    db.session.rollback()
    assert db.session.scalar(select(ChannelDelivery.status)) == "sent"


def test_a_robot_error_code_counts_as_a_failure(app, receiver, make_user):
    leader = make_user("李团长")
    add(leader, receiver, "wecom")
    receiver.answers = [(200, b'{"errcode":93000,"errmsg":"invalid webhook url"}')]
    notify(leader)
    assert run_jobs() == 0
    delivery = db.session.scalar(select(ChannelDelivery))
    assert delivery.status == "pending" and delivery.last_error.startswith("errcode 93000")


def test_delivery_gives_up_after_the_last_attempt(app, receiver, make_user, frozen_clock):
    leader = make_user("李团长")
    add(leader, receiver, "wecom")
    receiver.answers = [(503, b"")] * channel_delivery.MAX_ATTEMPTS
    notify(leader)
    for _ in range(channel_delivery.MAX_ATTEMPTS):
        run_jobs()
        frozen_clock.advance(hours=2)
    run_jobs()
    assert len(receiver.requests) == channel_delivery.MAX_ATTEMPTS
    db.session.rollback()
    assert db.session.scalar(select(ChannelDelivery.status)) == "failed"


def test_a_claim_left_by_a_dead_sender_is_taken_up_after_its_lease(app, receiver, make_user, frozen_clock):
    leader = make_user("李团长")
    add(leader, receiver, "wecom")
    notify(leader)
    outbox.deliver_outbox()
    delivery = db.session.scalar(select(ChannelDelivery))
    delivery.status, delivery.attempts = "sending", 1  # claimed, then the process died
    delivery.next_attempt_at = frozen_clock.now + channel_delivery.LEASE
    db.session.commit()
    assert channel_delivery.deliver_channels() == 0 and not receiver.requests
    frozen_clock.advance(minutes=3)
    assert channel_delivery.deliver_channels() == 1 and len(receiver.requests) == 1


def test_a_sender_slower_than_its_lease_does_not_overwrite_the_one_that_took_over(
    app, receiver, make_user, frozen_clock
):
    leader = make_user("李团长")
    add(leader, receiver, "wecom")
    notify(leader)
    outbox.deliver_outbox()
    delivery_id = db.session.scalar(select(ChannelDelivery.id))
    slow = channel_delivery._claim(delivery_id, frozen_clock.now)
    frozen_clock.advance(minutes=3)  # the slow sender's lease runs out; another takes over
    fast = channel_delivery._claim(delivery_id, frozen_clock.now)
    assert (slow, fast) == (1, 2)
    assert channel_delivery._record(delivery_id, fast, True, 200, "") is True
    assert channel_delivery._record(delivery_id, slow, False, 500, "late failure") is False
    db.session.rollback()
    delivery = db.session.get(ChannelDelivery, delivery_id)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, None)


def test_only_channels_of_the_recipients_that_take_the_kind_get_it(app, receiver, make_user):
    leader, other = make_user("李团长"), make_user("王团长")
    add(leader, receiver, "wecom", events=("window_closed",), path="/closed")
    add(leader, receiver, "wecom", events=("stock_alert",), path="/stock")
    add(other, receiver, "wecom", events=("window_closed",), path="/other")
    notify(leader)
    run_jobs()
    assert [r.path for r in receiver.requests] == ["/closed"]


def test_a_channel_removed_before_sending_gets_nothing(app, receiver, make_user):
    leader = make_user("李团长")
    channel = add(leader, receiver, "wecom")
    notify(leader)
    outbox.deliver_outbox()
    channels.remove_channel(leader, channel.id)
    assert channel_delivery.deliver_channels() == 0
    assert not receiver.requests
    db.session.rollback()
    assert db.session.scalar(select(ChannelDelivery.last_error)) == "channel removed"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/robot",  # plain http
        "https://127.0.0.1/robot",
        "https://localhost/robot",
        "https://[::1]/robot",
        "https://10.1.2.3/robot",
        "https://169.254.169.254/latest/meta-data",
        "https://user:pw@example.com/robot",
        "ftp://example.com/robot",
        "javascript:alert(1)",
    ],
)
def test_addresses_this_server_must_not_call_are_refused(app, make_user, url):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    with pytest.raises(ValidationFailed) as refused:
        channels.create_channel(
            make_user("李团长"), channels.ChannelInput(name="群", kind="wecom", url=url, events=["window_closed"])
        )
    assert "url" in refused.value.fields
    assert count(NotificationChannel) == 0


def test_a_channel_whose_address_turned_private_is_not_called(app, receiver, make_user):
    leader = make_user("李团长")
    add(leader, receiver, "wecom")
    notify(leader)
    outbox.deliver_outbox()
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False  # checked again before every send
    assert channel_delivery.deliver_channels() == 0
    assert not receiver.requests
    db.session.rollback()
    assert "https" in db.session.scalar(select(ChannelDelivery.last_error))


def test_another_users_channel_answers_not_found(app, receiver, make_user):
    channel = add(make_user("李团长"), receiver)
    with pytest.raises(NotFound):
        channels.remove_channel(make_user("王团长"), channel.id)
    db.session.rollback()
    assert db.session.get(NotificationChannel, channel.id).removed_at is None


# ---- the settings page


def _form(receiver, **overrides):
    data = {
        "name": "阳光小区 1 群",
        "kind": "wecom",
        "url": receiver.url + "/robot",
        "secret": "",
        "events": ["window_closed"],
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_page_adds_lists_tests_and_removes_a_channel(app, client, login, receiver, make_user):
    leader = make_user("李团长")
    login(leader)
    response = post_form(client, "/account/channels", _form(receiver, events=["window_closed", "channel_test"]))
    assert response.status_code == 302
    page = client.get("/account/channels").get_data(as_text=True)
    assert 'data-channel-id="' in page and "阳光小区 1 群</td>" not in page  # name, then its URL
    assert post_form(client, "/account/channels/test", {}, page="/account/channels").status_code == 302
    assert db.session.scalar(select(OutboxMessage.kind)) == "channel_test"
    run_jobs()
    assert len(receiver.requests) == 1
    page = client.get("/account/channels").get_data(as_text=True)
    assert 'data-delivery-status="sent"' in page
    channel_id = db.session.scalar(select(NotificationChannel.id))
    response = post_form(client, f"/account/channels/{channel_id}/remove", {}, page="/account/channels")
    assert response.status_code == 302
    page = client.get("/account/channels").get_data(as_text=True)
    assert f'data-channel-id="{channel_id}"' not in page
    assert 'data-delivery-status="sent"' in page  # the history stays


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": None}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "群" * 61}, "name"),
        ({"name": "群\x00"}, "name"),
        ({"kind": "slack"}, "kind"),
        ({"url": None}, "url"),
        ({"url": "https://example.com/" + "a" * 500}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "https://exa mple.com/robot"}, "url"),
        ({"kind": "json", "secret": "short"}, "secret"),
        ({"secret": "x" * 201}, "secret"),
        ({"events": None}, "events"),
        ({"events": ["window_closed", "drop table"]}, "events"),
    ],
)
def test_bad_channel_input_is_refused_and_changes_nothing(app, client, login, receiver, make_user, overrides, field):
    login(make_user("李团长"))
    response = post_form(client, "/account/channels", _form(receiver, **overrides))
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    assert count(NotificationChannel) == 0


def test_channel_forms_need_their_csrf_token(app, client, login, receiver, make_user):
    login(make_user("李团长"))
    response = client.post("/account/channels", data=_form(receiver))
    assert response.status_code in (400, 422)
    assert count(NotificationChannel) == 0


def test_removing_another_users_channel_through_the_page_is_404(app, client, login, receiver, make_user):
    channel = add(make_user("王团长"), receiver)
    login(make_user("李团长"))
    response = post_form(client, f"/account/channels/{channel.id}/remove", {}, page="/account/channels")
    assert response.status_code == 404
    db.session.rollback()
    assert db.session.get(NotificationChannel, channel.id).removed_at is None


def test_the_secret_is_never_shown_back(app, client, login, receiver, make_user):
    leader = make_user("李团长")
    add(leader, receiver, "json", secret=WEBHOOK_SECRET)
    login(leader)
    assert WEBHOOK_SECRET not in client.get("/account/channels").get_data(as_text=True)


def test_a_public_https_address_is_accepted(app, make_user, monkeypatch):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    # No DNS here: answer as the resolver would for the WeCom robot's public host.
    monkeypatch.setattr(socket, "getaddrinfo", lambda *_a, **_k: [(2, 1, 6, "", ("203.119.169.50", 443))])
    channel = channels.create_channel(
        make_user("李团长"),
        channels.ChannelInput(
            name="群",
            kind="wecom",
            url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
            events=["stock_alert"],
        ),
    )
    assert channel.id and channel.events == ["stock_alert"]
