"""Group-chat robot and webhook messages: the bodies and signatures each receiver expects.

- WeCom (企业微信) group robot: POST JSON `{"msgtype": "markdown", "markdown": {"content": …}}`
  to the robot's `…/cgi-bin/webhook/send?key=…` URL; answers `{"errcode": 0}`.
- DingTalk (钉钉) group robot: POST JSON `{"msgtype": "markdown", "markdown": {"title", "text"}}`;
  in signed mode ("加签") the URL gets `timestamp` (ms) and `sign` =
  base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")); answers `{"errcode": 0}`.
- Generic JSON webhook: our own event body, signed so the receiver can check it came from us:
  `X-GroupBuy-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>` with the
  timestamp in `X-GroupBuy-Timestamp` and the delivery id in `X-GroupBuy-Delivery` (a receiver
  that sees the same delivery id twice can drop the second).
Pure functions: no database, no network.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

KINDS = ("wecom", "dingtalk", "json")
SIGNATURE_HEADER = "X-GroupBuy-Signature"
TIMESTAMP_HEADER = "X-GroupBuy-Timestamp"
DELIVERY_HEADER = "X-GroupBuy-Delivery"
# Both robots cap a message at a few thousand characters; keep well inside.
MAX_TEXT = 2000


@dataclass(frozen=True)
class Message:
    event: str
    title: str
    body: str
    link: str | None
    delivery_id: int


@dataclass(frozen=True)
class Request:
    url: str
    body: bytes
    headers: dict[str, str]


def _markdown(message: Message, link_text: str) -> str:
    lines = [message.body] if message.body else []
    if message.link:
        lines.append(f"[{link_text}]({message.link})")
    return "\n\n".join(lines)[:MAX_TEXT]


def _json(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def json_signature(secret: str, timestamp: int, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _with_query(url: str, **params) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


def build(kind: str, url: str, secret: str | None, message: Message, now_ms: int, link_text: str) -> Request:
    """The HTTP request that delivers `message` to a channel of `kind` at `url`."""
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if kind == "wecom":
        content = f"**{message.title}**\n\n{_markdown(message, link_text)}".strip()[:MAX_TEXT]
        return Request(url, _json({"msgtype": "markdown", "markdown": {"content": content}}), headers)
    if kind == "dingtalk":
        text = f"#### {message.title}\n\n{_markdown(message, link_text)}".strip()[:MAX_TEXT]
        body = _json({"msgtype": "markdown", "markdown": {"title": message.title[:100], "text": text}})
        if secret:
            url = _with_query(url, timestamp=str(now_ms), sign=dingtalk_sign(secret, now_ms))
        return Request(url, body, headers)
    if kind == "json":
        body = _json(
            {
                "event": message.event,
                "title": message.title,
                "body": message.body,
                "link": message.link,
                "delivery_id": message.delivery_id,
            }
        )
        timestamp = now_ms // 1000
        headers = {**headers, TIMESTAMP_HEADER: str(timestamp), DELIVERY_HEADER: str(message.delivery_id)}
        if secret:
            headers[SIGNATURE_HEADER] = json_signature(secret, timestamp, body)
        return Request(url, body, headers)
    raise ValueError(f"unknown channel kind {kind!r}")


def accepted(kind: str, status: int, body: bytes) -> tuple[bool, str]:
    """Whether the receiver took the message; the reason when it did not."""
    if not 200 <= status < 300:
        return False, f"HTTP {status}"
    if kind in ("wecom", "dingtalk"):
        # The robots answer 200 with an error code in the body (bad key, rate limited, …).
        try:
            answer = json.loads(body or b"{}")
        except ValueError:
            return False, "unreadable answer"
        code = answer.get("errcode", 0) if isinstance(answer, dict) else None
        if code != 0:
            return False, f"errcode {code}: {str(answer.get('errmsg', ''))[:200]}"
    return True, ""
