"""Where mail goes: an SMTP server (the standard library's smtplib), or, without SMTP_HOST, a
folder of .eml files that a developer opens with any mail program or a text editor."""

from __future__ import annotations

import abc
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from E_SecurityPackage.mail_sealing import MailMessage

SMTP_TIMEOUT_SECONDS = 20.0
MAX_7BIT_LINE = 998  # RFC 5322 section 2.1.1


class MailDeliveryError(Exception):
    """The message was not accepted; the outbox tries again later. The message names only
    the kind of failure, never the server's words about the recipient or the content."""


def build_message(mail: MailMessage, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip(">") or None)
    message.set_content(mail.text, cte=_transfer_encoding(mail.text))
    message.add_alternative(mail.html, subtype="html", cte=_transfer_encoding(mail.html))
    return message


def _transfer_encoding(body: str) -> str:
    """7bit for ASCII (lines of up to 998 characters are allowed), so a link stays whole and
    readable in the raw message, as a developer reads MAIL_DIR's files; quoted-printable
    otherwise."""
    fits = body.isascii() and all(len(line) <= MAX_7BIT_LINE for line in body.splitlines())
    return "7bit" if fits else "quoted-printable"


class MailSender(abc.ABC):
    @abc.abstractmethod
    def send(self, mail: MailMessage) -> None:
        """Deliver the message, or raise MailDeliveryError."""


class SmtpMailSender(MailSender):
    """STARTTLS on the submission port (587) by default, implicit TLS (465) with `tls`, or
    plain SMTP when both are off (a relay on the same host or network)."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        tls: bool = False,
        context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.starttls = starttls
        self.tls = tls
        self.context = context or ssl.create_default_context()

    def send(self, mail: MailMessage) -> None:
        message = build_message(mail, self.sender)
        try:
            if self.tls:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS, context=self.context
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS)
            with client:
                if self.starttls and not self.tls:
                    client.starttls(context=self.context)
                if self.username:
                    client.login(self.username, self.password or "")
                client.send_message(message)
        except smtplib.SMTPResponseException as error:
            raise MailDeliveryError(f"SMTP server answered {error.smtp_code}") from error
        except (smtplib.SMTPException, OSError) as error:
            raise MailDeliveryError(f"SMTP delivery failed ({type(error).__name__})") from error


class FolderMailSender(MailSender):
    """Development without SMTP: each message becomes `<folder>/<message id>.eml` (0600)."""

    def __init__(self, folder: Path, sender: str) -> None:
        self.folder = folder
        self.sender = sender

    def send(self, mail: MailMessage) -> None:
        message = build_message(mail, self.sender)
        name = str(message["Message-ID"]).strip("<>").replace("/", "_")
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            path = self.folder / f"{name}.eml"
            path.touch(mode=0o600)
            path.write_bytes(bytes(message))
        except OSError as error:
            raise MailDeliveryError(f"mail folder not writable ({type(error).__name__})") from error
