"""Real alert receivers for tests: an SMTP server (aiosmtpd) and an HTTP receiver of JSON
webhooks, both on loopback, started by the tests (no SMTP server needs to be installed)."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """An SMTP server on loopback that keeps every message it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    @property
    def url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=frota@example.com&to=ops@example.com"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]

    def bodies(self) -> list[str]:
        return [m.get_body(("plain",)).get_content() for m in self.messages]  # type: ignore

    def close(self) -> None:
        self.controller.stop()


class Receiver:
    """An HTTP server on loopback that keeps the JSON body of every POST; `down = True` makes
    it answer 503 (a channel that is down)."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.down = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.down:
                    self.send_response(503)
                else:
                    receiver.posts.append(json.loads(body))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/frota-hook"

    def titles(self) -> list[str]:
        return [p["title"] for p in self.posts]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
