"""A loopback HTTP receiver standing in for a WeCom/DingTalk robot or a webhook endpoint."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str  # with the query string
    headers: Message  # case-insensitive, as HTTP header names are
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every POST; answers from `answers` in turn (then 200 `{"errcode": 0}`)."""

    answers: list[tuple[int, bytes]] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                owner.requests.append(Received(self.path, self.headers, self.rfile.read(length)))
                status, body = owner.answers.pop(0) if owner.answers else (200, b'{"errcode":0,"errmsg":"ok"}')
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
