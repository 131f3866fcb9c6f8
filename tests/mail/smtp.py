"""A real SMTP server in-process (aiosmtpd) that keeps what it receives."""
from __future__ import annotations

import asyncio
import email
import socket
from email.message import Message

from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.raw: list[bytes] = []  # exactly the bytes accepted, in order
        self.envelopes: list[tuple[str, list[str], list[str]]] = []  # (MAIL FROM, RCPT TOs, MAIL options) accepted
        self.refused: list[bytes] = []
        self.fail = False
        self.delay = 0.0  # seconds to think before answering DATA (a slow server)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            self.refused.append(envelope.content)
            return "451 Try again later"
        self.raw.append(envelope.content)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), list(envelope.mail_options)))
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, addr: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == addr]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(port: int | None = None, *, smtputf8: bool = False) -> tuple[Controller, Inbox]:
    """`smtputf8`: the server offers SMTPUTF8 (RFC 6531), so it takes addresses with non-ASCII local parts."""
    inbox = Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port or free_port(), enable_SMTPUTF8=smtputf8)
    ctl.start()
    return ctl, inbox
