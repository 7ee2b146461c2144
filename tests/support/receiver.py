"""A loopback HTTP(S) receiver standing in for a WeCom/DingTalk robot or a webhook endpoint."""

from __future__ import annotations

import json
import ssl
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
    """Records every POST; answers from `answers` in turn (then 200 `{"errcode": 0}`), each
    (status, body) or (status, body, extra headers). With `tls`, it speaks https."""

    answers: list[tuple] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    tls: ssl.SSLContext | None = None

    def __post_init__(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                owner.requests.append(Received(self.path, self.headers, self.rfile.read(length)))
                status, body, *extra = owner.answers.pop(0) if owner.answers else (200, b'{"errcode":0,"errmsg":"ok"}')
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in (extra[0] if extra else {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        if self.tls is not None:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
