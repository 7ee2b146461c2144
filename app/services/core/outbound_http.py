"""Calling addresses that users typed (group-chat robots, webhooks, push services) without letting
them reach into the server's own network (SSRF).

`check_target` resolves the host name once and refuses it unless every address is public (or
`WEBHOOK_ALLOW_PRIVATE` is set, for a closed deployment and the tests' loopback receivers); it
returns those addresses. `session(target)` connects to them and never resolves the name again: a
name re-pointed between the check and the connection (DNS rebinding, public at the check and
127.0.0.1 a moment later) cannot lead anywhere else. TLS still sends the original host name (SNI)
and verifies the certificate against it, and the Host header carries it, so the receiver sees an
ordinary request. Redirects are not followed (they could lead past the check), and the
environment's proxies and .netrc are ignored (a proxy would resolve the name itself).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna
import requests
from flask import current_app
from flask_babel import gettext as _
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError

# Addresses tried in turn when connecting fails: each may take the whole connect timeout, and a
# delivery must finish well within its lease (channel_delivery.LEASE).
MAX_ADDRESSES_TRIED = 4


class UnsafeTarget(ValueError):
    """The URL may not be called from this server."""


@dataclass(frozen=True)
class Target:
    """A URL that passed the check, with the addresses it may be reached at."""

    url: str
    host: str  # ASCII (IDNA) and lower case, as requests puts it in the prepared request
    netloc: str  # host[:port] for the Host header
    addresses: tuple[str, ...]


def _ascii_host(host: str) -> str:
    if host.isascii():
        return host
    try:  # how requests encodes a non-ASCII host name, so that both name the same host
        return idna.encode(host, uts46=True).decode()
    except idna.IDNAError:
        raise UnsafeTarget(_("This address cannot be found.")) from None


def check_target(url: str) -> Target:
    """Refuse URLs this server must not call (UnsafeTarget says why); the target to connect to."""
    allow_private = current_app.config["WEBHOOK_ALLOW_PRIVATE"]
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeTarget(_("Enter the robot's full address, starting with https://."))
    if parts.scheme != "https" and not allow_private:
        raise UnsafeTarget(_("Use an https:// address."))
    if parts.username or parts.password:
        raise UnsafeTarget(_("Addresses with a user name or password are not accepted."))
    host = _ascii_host(parts.hostname)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError):
        raise UnsafeTarget(_("This address cannot be found.")) from None
    # A scope (fe80::1%eth0) only ever comes with a link-local address, refused below anyway.
    addresses = tuple(dict.fromkeys(info[4][0].split("%")[0] for info in infos))
    if not addresses:
        raise UnsafeTarget(_("This address cannot be found."))
    if not allow_private and not all(ipaddress.ip_address(a).is_global for a in addresses):
        raise UnsafeTarget(_("This address points into a private network; it is not accepted."))
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    if ":" in host:  # an IPv6 literal
        netloc = f"[{host}]" if parts.port is None else f"[{host}]:{parts.port}"
    return Target(url=url, host=host, netloc=netloc, addresses=addresses)


def _could_not_connect(exc: requests.RequestException) -> bool:
    # Nothing was sent yet, so the next address may be tried (an IPv6 one on a host without
    # IPv6, say); an error after connecting is the answer.
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    return isinstance(reason, MaxRetryError) and isinstance(reason.reason, NewConnectionError)


class _PinnedAdapter(HTTPAdapter):
    """Connects only to the target's checked addresses, in turn. One per session, one session
    per delivery: `_address` is the attempt in progress."""

    def __init__(self, target: Target):
        super().__init__(max_retries=0)
        self._target = target
        self._address = target.addresses[0]

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if host_params["host"] != self._target.host:
            raise UnsafeTarget(_("Only the checked address may be called."))
        host_params["host"] = self._address
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = self._target.host  # SNI and the certificate's name
        return host_params, pool_kwargs

    def send(self, request, *args, **kwargs):
        request.headers["Host"] = self._target.netloc
        tried = self._target.addresses[:MAX_ADDRESSES_TRIED]
        for address in tried:
            self._address = address
            try:
                return super().send(request, *args, **kwargs)
            except requests.exceptions.ConnectionError as exc:
                if address == tried[-1] or not _could_not_connect(exc):
                    raise
        raise AssertionError("unreachable: a target has at least one address")


def session(target: Target) -> requests.Session:
    """A requests session that reaches `target` at its checked addresses only."""
    pinned = requests.Session()
    pinned.trust_env = False
    pinned.max_redirects = 0  # a redirect could lead past the check: a failure instead
    adapter = _PinnedAdapter(target)
    pinned.mount("https://", adapter)
    pinned.mount("http://", adapter)
    return pinned


def post(target: Target, body: bytes, headers: dict[str, str], *, timeout: float, max_answer: int) -> tuple[int, bytes]:
    """POST to the target; (HTTP status, at most `max_answer` bytes of the answer)."""
    with session(target) as pinned:
        # Not followed either: the redirect is the answer, recorded as its HTTP status. (Even
        # when not following, requests prepares the next request, which max_redirects=0 refuses.)
        pinned.max_redirects = requests.models.DEFAULT_REDIRECT_LIMIT
        answer = pinned.post(
            target.url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True
        )
        with answer:
            return answer.status_code, answer.raw.read(max_answer, decode_content=True)
