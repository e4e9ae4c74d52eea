"""A real SMTP server on loopback (aiosmtpd, port 0, its own thread and event loop), and the
Django SMTP backend pointed at it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.smtp import SMTP
from django.test import override_settings


@dataclass
class Inbox:
    """What the server accepted: one entry per message (envelope recipients and the parsed
    message)."""

    messages: list[tuple[list[str], Message]] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0

    def subjects(self) -> list[str]:
        return [m["Subject"] for _, m in self.messages]


class _Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 — aiosmtpd API
        self.inbox.messages.append((list(envelope.rcpt_tos),
                                    message_from_bytes(envelope.original_content)))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[Inbox]:
    inbox = Inbox()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict = {}

    def serve() -> None:
        asyncio.set_event_loop(loop)
        handler = _Handler(inbox)
        server = loop.run_until_complete(loop.create_server(
            lambda: SMTP(handler, hostname="dropstream-test"), host="127.0.0.1", port=0))
        holder["server"] = server
        inbox.port = server.sockets[0].getsockname()[1]
        ready.set()
        loop.run_forever()
        server.close()
        loop.run_until_complete(server.wait_closed())

    thread = threading.Thread(target=serve, name="smtp-server", daemon=True)
    thread.start()
    assert ready.wait(5), "the SMTP server did not start"
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                               EMAIL_HOST=inbox.host, EMAIL_PORT=inbox.port,
                               EMAIL_USE_TLS=False, EMAIL_TIMEOUT=5):
            yield inbox
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
