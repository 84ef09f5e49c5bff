"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, and helpers to read
the recovery mails: the link's token and the code."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.live_server import free_port

TOKEN_IN_LINK = re.compile(r"/password/reset\?token=([A-Za-z0-9_\-%]+)")
VERIFY_TOKEN_IN_LINK = re.compile(r"/email/verify\?token=([A-Za-z0-9_\-%]+)")
CODE = re.compile(r"code[^0-9]*([0-9]{8})")


VERIFICATION_SUBJECTS = ("Confirm your email address",)


class Inbox:
    """aiosmtpd's handler: every accepted message, parsed; except those with one of the
    `skip_subjects` (tests of other mails leave out the verification mail of registration)."""

    def __init__(self, skip_subjects: tuple[str, ...] = ()) -> None:
        self.skip_subjects = skip_subjects
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self._arrived = threading.Condition()
        self.refuse_with: str | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refuse_with is not None:
            return self.refuse_with
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        if message["Subject"] in self.skip_subjects:
            return "250 Message accepted for delivery"
        with self._arrived:
            self.messages.append(message)
            self.recipients.append(list(envelope.rcpt_tos))
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 15.0) -> list[EmailMessage]:
        """The first `count` messages, once they have arrived."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.messages)} of {count} mails arrived"
                self._arrived.wait(left)
            return list(self.messages[:count])

    def quiet_for(self, seconds: float) -> int:
        """Wait, then how many messages have arrived in all."""
        time.sleep(seconds)
        with self._arrived:
            return len(self.messages)


@contextmanager
def smtp_server(skip_subjects: tuple[str, ...] = ()) -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox(skip_subjects)
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    content: str = part.get_content()
    return content


def reset_token_of(message: EmailMessage) -> str:
    match = TOKEN_IN_LINK.search(text_of(message))
    assert match, text_of(message)
    return match.group(1)


def verify_token_of(message: EmailMessage) -> str:
    match = VERIFY_TOKEN_IN_LINK.search(text_of(message))
    assert match, text_of(message)
    return match.group(1)


def reset_code_of(message: EmailMessage) -> str:
    match = CODE.search(text_of(message))
    assert match, text_of(message)
    return match.group(1)
