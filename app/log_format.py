"""How the app's log lines look: text for people, or LOG_FORMAT=json for log collectors.

JSON lines carry time (UTC, ISO 8601), level, logger, message, and inside a request its id and
Flask endpoint; an exception's traceback goes in `exception`. The request id is the one nginx
(or another proxy) sent in X-Request-Id when it looks like an id, else one made here, so a
line can be matched to the proxy's access log.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from datetime import UTC, datetime

from flask import g, has_request_context, request

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id() -> str:
    """This request's id: the proxy's X-Request-Id if it is a plain token, else a new one."""
    rid = g.get("request_id")
    if rid is None:
        sent = request.headers.get("X-Request-Id", "")
        rid = g.request_id = sent if _REQUEST_ID_RE.match(sent) else secrets.token_hex(8)
    return rid


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            line["request_id"] = request_id()
            line["endpoint"] = request.endpoint
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter(name: str) -> logging.Formatter:
    """The formatter LOG_FORMAT names; anything else stops the start with a clear message."""
    name = (name or "text").strip().lower()
    if name not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {name!r}")
    return JsonFormatter() if name == "json" else logging.Formatter(TEXT_FORMAT)
