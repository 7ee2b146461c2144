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
# The robots count UTF-8 bytes, not characters (a Chinese character is 3 bytes, an emoji 4):
# - WeCom group robot (developer.work.weixin.qq.com/document/path/91770, 群机器人配置说明): text
#   content "最长不超过2048个字节", markdown content "最长不超过4096个字节", both "必须是utf8编码"; a
#   longer markdown is refused with errcode 40058 "markdown.content exceed max length 4096".
# - DingTalk custom robot (open.dingtalk.com/document/orgapp/custom-robots-send-group-messages)
#   states no size of its own; DingTalk documents 15,000 bytes for a robot message's parameters
#   (robot/groupMessages/send, "msgParam … must not exceed 15,000 bytes") and, in its global error
#   codes, 34016 "消息内容长度超过限制" for a markdown over 5000 and a title over 64. We keep
#   inside the strictest reading: 5000 bytes of markdown, 64 bytes of title.
WECOM_MARKDOWN_MAX_BYTES = 4096
DINGTALK_MARKDOWN_MAX_BYTES = 5000
DINGTALK_TITLE_MAX_BYTES = 64
ELLIPSIS = "…"


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


def cut_utf8(text: str, max_bytes: int) -> str:
    """`text` if its UTF-8 form fits in `max_bytes`, else its longest start that fits with an
    ellipsis after it, cut between two characters, never inside one."""
    raw = text.encode()
    if len(raw) <= max_bytes:
        return text
    room = max_bytes - len(ELLIPSIS.encode())
    if room <= 0:
        return ""
    # The bytes of a character cut in two are dropped by "ignore"; the rest is whole characters.
    return raw[:room].decode(errors="ignore") + ELLIPSIS


def _markdown(head: str, message: Message, link_text: str, max_bytes: int) -> str:
    """The heading, the body and the link, in at most `max_bytes` of UTF-8. The body is cut
    first: the link is what a reader taps, and the heading says what it is about."""
    link = f"[{link_text}]({message.link})" if message.link else ""
    text = "\n\n".join(part for part in (head, message.body, link) if part)
    if len(text.encode()) <= max_bytes:
        return text
    kept = "\n\n".join(part for part in (head, link) if part)
    room = max_bytes - len(kept.encode()) - (len(b"\n\n") if kept else 0)
    if message.body and room > len(ELLIPSIS.encode()):
        return "\n\n".join(part for part in (head, cut_utf8(message.body, room), link) if part)
    return cut_utf8(text, max_bytes)  # too long even without the body


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
        head = f"**{message.title}**" if message.title else ""
        content = _markdown(head, message, link_text, WECOM_MARKDOWN_MAX_BYTES)
        return Request(url, _json({"msgtype": "markdown", "markdown": {"content": content}}), headers)
    if kind == "dingtalk":
        head = f"#### {message.title}" if message.title else ""
        text = _markdown(head, message, link_text, DINGTALK_MARKDOWN_MAX_BYTES)
        title = cut_utf8(message.title, DINGTALK_TITLE_MAX_BYTES)
        body = _json({"msgtype": "markdown", "markdown": {"title": title, "text": text}})
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
