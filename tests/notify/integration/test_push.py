"""Web Push: a stand-in push service on loopback receives the encrypted, VAPID-signed message and
the test decrypts it as the browser would; expired subscriptions are dropped; the API refuses bad
subscriptions and changes nothing."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from sqlalchemy import func, select

from app.extensions import db
from app.models import ChannelDelivery, NotificationChannel
from app.services.notify import channel_delivery, notifications, outbox, push
from tests.support.forms import csrf_from
from tests.support.platform import isolated_client
from tests.support.push_keys import Browser, unb64url
from tests.support.receiver import Receiver


@pytest.fixture
def service(app):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True  # the stand-in push service is on loopback
    r = Receiver(answers=[])
    yield r
    r.stop()


@pytest.fixture
def client(app):
    return isolated_client(app)


def subscribe(user, service, browser, path="/push/abc"):
    return push.subscribe(user, service.url + path, browser.p256dh, browser.auth_b64, "Pixel 8")


def notify(user, kind="batch_arrived"):
    notifications.enqueue(kind, user_ids=[user.id], title="鲜果坊 到货了", body="货架 1–32", link="/leader/batches/7")
    db.session.commit()
    outbox.deliver_outbox()
    return channel_delivery.deliver_channels()


def verify_vapid(header: str, endpoint: str, subject: str) -> None:
    """Check the Authorization header as a push service does: ES256 JWT signed with key k."""
    scheme, _, params = header.partition(" ")
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == push.public_key()
    head, claims, signature = fields["t"].split(".")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(fields["k"]))
    raw = unb64url(signature)
    der = utils.encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    body = json.loads(unb64url(claims))
    parts = urlsplit(endpoint)
    assert body["aud"] == f"{parts.scheme}://{parts.netloc}"
    assert body["sub"] == subject


def test_push_service_gets_an_encrypted_message_the_browser_can_read(app, service, make_user):
    leader, browser = make_user("李团长"), Browser()
    subscribe(leader, service, browser)
    assert notify(leader) == 1
    assert len(service.requests) == 1
    received = service.requests[0]
    assert received.headers["Content-Encoding"] == "aes128gcm"
    assert int(received.headers["TTL"]) > 0
    assert "鲜果坊".encode() not in received.body  # encrypted on the wire
    message = browser.decrypt(received.body)
    assert message["title"] == "鲜果坊 到货了" and message["body"] == "货架 1–32"
    assert message["url"] == "http://127.0.0.1:5000/leader/batches/7"
    verify_vapid(received.headers["Authorization"], service.url + "/push/abc", app.config["VAPID_SUBJECT"])
    assert notify(leader) == 1 and len(service.requests) == 2  # a second message, not a resend
    outbox.deliver_outbox()
    assert channel_delivery.deliver_channels() == 0 and len(service.requests) == 2


@pytest.mark.parametrize("status", [404, 410])
def test_a_subscription_the_push_service_dropped_is_removed(app, service, make_user, status):
    leader = make_user("李团长")
    channel = subscribe(leader, service, Browser())
    service.answers = [(status, b"")]
    assert notify(leader) == 0
    db.session.rollback()
    assert db.session.get(NotificationChannel, channel.id).removed_at is not None
    assert db.session.scalar(select(ChannelDelivery.status)) == "failed"
    assert notify(leader) == 0 and len(service.requests) == 1  # nothing more is sent to it


def test_a_push_service_error_is_retried(app, service, make_user):
    leader = make_user("李团长")
    channel = subscribe(leader, service, Browser())
    service.answers = [(503, b"")]
    assert notify(leader) == 0
    db.session.rollback()
    assert db.session.get(NotificationChannel, channel.id).removed_at is None
    assert db.session.scalar(select(ChannelDelivery.status)) == "pending"


def test_the_same_browser_subscribing_again_replaces_its_old_subscription(app, service, make_user):
    first, second = make_user("李团长"), make_user("王店员")
    subscribe(first, service, Browser())
    subscribe(second, service, Browser())  # another account signed in on the same browser
    assert push.devices(first) == [] and len(push.devices(second)) == 1


def test_the_vapid_key_is_made_once_and_kept(app, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    key = push.public_key()
    assert len(unb64url(key)) == 65 and unb64url(key)[0] == 4
    assert push.public_key() == key
    assert oct(push.key_path().stat().st_mode & 0o777) == "0o600"


# ---- the API the settings page calls


def _csrf(client) -> dict:
    return {"X-CSRFToken": csrf_from(client.get("/account/channels").get_data(as_text=True))}


def _body(service, browser, **overrides):
    body = {"endpoint": service.url + "/push/xyz", "keys": {"p256dh": browser.p256dh, "auth": browser.auth_b64}}
    body.update(overrides)
    return body


def test_a_browser_subscribes_and_unsubscribes_through_the_api(app, client, login, service, make_user):
    leader = make_user("李团长")
    login(leader)
    key = client.get("/api/v1/push/key").get_json()["public_key"]
    assert key == push.public_key()
    headers = _csrf(client)
    response = client.post("/api/v1/push/subscriptions", json=_body(service, Browser()), headers=headers)
    assert response.status_code == 201
    assert 'data-device-id="' in client.get("/account/channels").get_data(as_text=True)
    response = client.post("/api/v1/push/unsubscribe", json={"endpoint": service.url + "/push/xyz"}, headers=headers)
    assert response.status_code == 204
    assert push.devices(leader) == []


def test_subscribing_needs_the_csrf_header(app, client, login, service, make_user):
    login(make_user("李团长"))
    response = client.post("/api/v1/push/subscriptions", json=_body(service, Browser()))
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(NotificationChannel)) == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"endpoint": ""},
        {"endpoint": "https://push.example/" + "a" * 500},
        {"endpoint": "javascript:alert(1)"},
        {"keys": {"p256dh": "not-a-key", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}},
        {"keys": {"p256dh": "BAAA", "auth": "short"}},
        {"keys": {"auth": "AAAAAAAAAAAAAAAAAAAAAA"}},
        {"keys": None},
        {"unexpected": 1},
    ],
)
def test_bad_subscriptions_are_refused_and_change_nothing(app, client, login, service, make_user, overrides):
    login(make_user("李团长"))
    response = client.post(
        "/api/v1/push/subscriptions", json=_body(service, Browser(), **overrides), headers=_csrf(client)
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "validation_failed"
    assert db.session.scalar(select(func.count()).select_from(NotificationChannel)) == 0


def test_a_private_push_endpoint_is_refused_when_not_allowed(app, client, login, make_user):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    login(make_user("李团长"))
    browser = Browser()
    body = {"endpoint": "https://127.0.0.1/push", "keys": {"p256dh": browser.p256dh, "auth": browser.auth_b64}}
    response = client.post("/api/v1/push/subscriptions", json=body, headers=_csrf(client))
    assert response.status_code == 422
    assert "endpoint" in response.get_json()["error"]["fields"]


def test_unsubscribing_someone_elses_browser_is_404(app, client, login, service, make_user):
    channel = subscribe(make_user("王团长"), service, Browser())
    login(make_user("李团长"))
    response = client.post("/api/v1/push/unsubscribe", json={"endpoint": channel.url}, headers=_csrf(client))
    assert response.status_code == 404
    db.session.rollback()
    assert db.session.get(NotificationChannel, channel.id).removed_at is None


def test_a_push_subscription_gets_every_kind_even_ones_added_after_it(app, service, make_user):
    leader, browser = make_user("李团长"), Browser()
    subscribe(leader, service, browser)
    assert notify(leader, kind="a_kind_from_a_later_release") == 1
    assert browser.decrypt(service.requests[0].body)["title"] == "鲜果坊 到货了"
