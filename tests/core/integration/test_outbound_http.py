"""Robots, webhooks and push services are called at the address that was checked, never at one
the name resolves to later (DNS rebinding: public when checked, 127.0.0.1 a moment after);
https keeps the host name for SNI and the certificate check; redirects are not followed.

The resolver is replaced (socket.getaddrinfo) and every connection is recorded at the socket;
connections to the addresses the tests stand for public or unroutable hosts are refused there,
before any packet leaves the machine."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from datetime import UTC, datetime, timedelta

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from app.extensions import db
from app.models import ChannelDelivery
from app.services.core import outbound_http
from app.services.notify import channel_delivery, channels, notifications, outbox, push
from tests.support.push_keys import Browser
from tests.support.receiver import Receiver

PUBLIC = "203.119.169.50"  # stands for the robot's public address: connections to it are refused here
UNROUTABLE = "192.0.2.1"  # TEST-NET-1, refused here too
_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect


class Rebinding:
    """A resolver whose names answer `first` to the first `checks` lookups and `then` after;
    IP literals resolve to themselves, as they do for real."""

    def __init__(self, first: str | list[str], then: str, checks: int = 2):
        self.first = [first] if isinstance(first, str) else first
        self.then, self.checks, self.lookups = then, checks, []

    def __call__(self, host, port, *args, **kwargs):
        try:
            ipaddress.ip_address(host)
            return _real_getaddrinfo(host, port, *args, **kwargs)
        except ValueError:
            pass
        self.lookups.append(host)
        answers = self.first if len(self.lookups) <= self.checks else [self.then]
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port)) for a in answers]


class Wire:
    """Every connection to `port` (and to the stand-in addresses on any port), in order."""

    def __init__(self, port: int):
        self.port, self.seen = port, []

    def connect(self, sock, address):
        if address[1] == self.port or address[0] in (PUBLIC, UNROUTABLE):
            self.seen.append((address[0], address[1]))
            if address[0] in (PUBLIC, UNROUTABLE):
                raise ConnectionRefusedError(111, "refused by the test")
        return _real_connect(sock, address)


@pytest.fixture
def rebind(monkeypatch):
    def install(first, then, checks=2) -> Rebinding:
        resolver = Rebinding(first, then, checks)
        monkeypatch.setattr(socket, "getaddrinfo", resolver)
        return resolver

    return install


@pytest.fixture
def wire(monkeypatch):
    def install(port: int) -> Wire:
        recorder = Wire(port)
        monkeypatch.setattr(socket.socket, "connect", lambda sock, address: recorder.connect(sock, address))
        return recorder

    return install


@pytest.fixture
def receivers():
    started = []

    def start(**kwargs) -> Receiver:
        started.append(Receiver(**kwargs))
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()


def _robot(user, url: str):
    return channels.create_channel(
        user, channels.ChannelInput(name="阳光小区 1 群", kind="wecom", url=url, events=["window_closed"])
    )


def _notify_and_deliver(user) -> int:
    notifications.enqueue("window_closed", user_ids=[user.id], title="周末水果团 已截单", body="32 单", link="/")
    db.session.commit()
    outbox.deliver_outbox()
    return channel_delivery.deliver_channels()


def test_a_robot_whose_name_turns_to_loopback_after_the_check_is_called_at_the_checked_address(
    app, make_user, rebind, wire
):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    dns = rebind(first=PUBLIC, then="127.0.0.1")  # public for saving and for the check before the send
    line = wire(443)
    leader = make_user("李团长")
    _robot(leader, "https://robot.example.test/cgi-bin/webhook/send?key=k")
    assert _notify_and_deliver(leader) == 0  # the public stand-in refuses
    assert line.seen == [(PUBLIC, 443)]  # the checked address, never 127.0.0.1
    assert dns.lookups == ["robot.example.test", "robot.example.test"]  # no lookup at connect time
    db.session.rollback()
    assert "refused" in db.session.scalar(select(ChannelDelivery.last_error))


def test_a_push_endpoint_whose_name_turns_to_loopback_is_called_at_the_checked_address(app, make_user, rebind, wire):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    rebind(first=PUBLIC, then="127.0.0.1")
    line = wire(443)
    leader, browser = make_user("李团长"), Browser()
    push.subscribe(leader, "https://push.example.test/push/abc", browser.p256dh, browser.auth_b64, "Pixel 8")
    notifications.enqueue("batch_arrived", user_ids=[leader.id], title="鲜果坊 到货了", body="货架 1–32", link="/")
    db.session.commit()
    outbox.deliver_outbox()
    assert channel_delivery.deliver_channels() == 0
    assert line.seen == [(PUBLIC, 443)]


def test_the_checked_address_gets_the_request_with_the_names_host_header(app, make_user, rebind, wire, receivers):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True  # the stand-in robot is on loopback
    robot = receivers()
    dns = rebind(first="127.0.0.1", then=UNROUTABLE)  # re-pointed after the check
    line = wire(robot.port)
    leader = make_user("李团长")
    _robot(leader, f"http://robot.example.test:{robot.port}/cgi-bin/webhook/send?key=k")
    assert _notify_and_deliver(leader) == 1
    assert [r.headers["Host"] for r in robot.requests] == [f"robot.example.test:{robot.port}"]
    assert line.seen == [("127.0.0.1", robot.port)]
    assert dns.lookups == ["robot.example.test", "robot.example.test"]  # saving, and before the send


def test_a_push_reaches_the_checked_address_after_the_name_moved(app, make_user, rebind, wire, receivers):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    service = receivers()
    dns = rebind(first="127.0.0.1", then=UNROUTABLE)
    wire(service.port)
    leader, browser = make_user("李团长"), Browser()
    endpoint = f"http://push.example.test:{service.port}/push/abc"
    push.subscribe(leader, endpoint, browser.p256dh, browser.auth_b64, "Pixel 8")
    notifications.enqueue("batch_arrived", user_ids=[leader.id], title="鲜果坊 到货了", body="货架 1–32", link="/")
    db.session.commit()
    outbox.deliver_outbox()
    assert channel_delivery.deliver_channels() == 1
    assert browser.decrypt(service.requests[0].body)["title"] == "鲜果坊 到货了"
    assert dns.lookups == ["push.example.test", "push.example.test"]  # none at connect time


def test_the_next_checked_address_is_tried_when_one_cannot_be_reached(app, rebind, wire, receivers):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    robot = receivers()
    rebind(first=[UNROUTABLE, "127.0.0.1"], then=UNROUTABLE, checks=1)
    line = wire(robot.port)
    target = outbound_http.check_target(f"http://robot.example.test:{robot.port}/send")
    assert target.addresses == (UNROUTABLE, "127.0.0.1")
    status, _answer = outbound_http.post(target, b"{}", {}, timeout=5, max_answer=1024)
    assert status == 200 and len(robot.requests) == 1
    assert line.seen == [(UNROUTABLE, robot.port), ("127.0.0.1", robot.port)]


def test_a_pinned_session_calls_no_other_host(app, rebind):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    rebind(first="127.0.0.1", then=UNROUTABLE, checks=1)
    target = outbound_http.check_target("http://robot.example.test:9/send")
    with outbound_http.session(target) as pinned, pytest.raises(requests.exceptions.InvalidURL, match="checked"):
        pinned.post("http://elsewhere.example.test:9/send", data=b"{}", timeout=5)


def test_a_redirect_is_a_failure_not_followed(app, make_user, receivers):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    elsewhere = receivers()
    robot = receivers(answers=[(302, b"", {"Location": elsewhere.url + "/stolen"})])
    leader = make_user("李团长")
    _robot(leader, robot.url + "/robot")
    assert _notify_and_deliver(leader) == 0
    assert len(robot.requests) == 1 and elsewhere.requests == []
    db.session.rollback()
    assert db.session.scalar(select(ChannelDelivery.last_error)) == "HTTP 302"


# ---- https: SNI and the certificate are checked against the name, not the pinned address


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


@pytest.fixture(scope="module")
def authority():
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Test robots CA"))
        .issuer_name(_name("Test robots CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _server_context(authority, host: str, folder, sni_seen: list) -> ssl.SSLContext:
    ca_key, ca_cert = authority
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    chain, key_file = folder / f"{host}.pem", folder / f"{host}.key"
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain, key_file)
    context.sni_callback = lambda _sock, name, _ctx: sni_seen.append(name)
    return context


def test_https_to_the_pinned_address_sends_the_name_and_checks_the_certificate_for_it(
    app, authority, tmp_path, rebind, receivers
):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    trusted = tmp_path / "ca.pem"
    trusted.write_bytes(authority[1].public_bytes(serialization.Encoding.PEM))
    sni = []
    robot = receivers(tls=_server_context(authority, "hooks.example.test", tmp_path, sni))
    impostor = receivers(tls=_server_context(authority, "other.example.test", tmp_path, []))
    rebind(first="127.0.0.1", then=UNROUTABLE, checks=2)

    target = outbound_http.check_target(f"https://hooks.example.test:{robot.port}/hook")
    with outbound_http.session(target) as pinned:
        pinned.verify = str(trusted)
        answer = pinned.post(target.url, data=b"{}", timeout=5)
    assert answer.status_code == 200 and sni == ["hooks.example.test"]
    assert robot.requests[0].headers["Host"] == f"hooks.example.test:{robot.port}"

    # The same name at an address serving another name's certificate is refused.
    target = outbound_http.check_target(f"https://hooks.example.test:{impostor.port}/hook")
    with outbound_http.session(target) as pinned, pytest.raises(requests.exceptions.SSLError):
        pinned.verify = str(trusted)
        pinned.post(target.url, data=b"{}", timeout=5)
    assert impostor.requests == []
