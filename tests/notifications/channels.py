"""Local peers for notification tests: a webhook (HTTP) server, an SMTP server, a Notifier.

Worker processes and in-process workers load ``tests.notifications.channels`` for the notifier.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from jobmodule import Job, Notice, Notifier


@dataclass
class Webhook:
    """Answers each POST with the next status of ``statuses`` (then 200), and records it."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    url: str = ""

    def acknowledged(self) -> list[dict[str, Any]]:
        return [body for status, body in self.received if status == 200]


@contextmanager
def webhook(*statuses: int) -> Iterator[Webhook]:
    hook = Webhook(statuses=list(statuses))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status = hook.statuses.pop(0) if hook.statuses else 200
            hook.received.append((status, body))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()


class Mailbox:
    """aiosmtpd handler: keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope.content.decode(errors="replace"))
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


code_notices: list[Notice] = []


class Recorder(Notifier):
    """The application's own channel: keeps what it is sent (in-process workers)."""

    async def send(self, notice: Notice) -> None:
        code_notices.append(notice)


class Breaks(Job):
    """Fails once and for good, with a message unique to its token (its own failure group)."""

    token: str
    n: int = 0

    async def handle(self) -> None:
        raise RuntimeError(f"broken {self.token} part")
