"""The raw message a developer reads in MAIL_DIR (or an SMTP server receives): an ASCII mail
keeps its links whole, a non-ASCII one is quoted-printable, and both parse back the same."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from E_SecurityPackage.mail_sealing import MailMessage
from F_RepositoryPackage.mail_sender import build_message

LINK = "https://auth.example.com/email/verify?token=" + "A1b2C3d4_-" * 5


def parsed(raw: str) -> EmailMessage:
    message = email.message_from_string(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_an_ascii_mail_keeps_its_links_whole_in_the_raw_message() -> None:
    mail = MailMessage("a@example.com", "Hello", f"Open {LINK} now.\n", f'<a href="{LINK}">x</a>\n')
    raw = build_message(mail, "Auth <no-reply@example.com>").as_string()
    assert f"Open {LINK} now." in raw
    assert f'<a href="{LINK}">' in raw
    assert "=3D" not in raw
    body = parsed(raw).get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content() == f"Open {LINK} now.\n"


def test_a_non_ascii_mail_is_quoted_printable_and_reads_back() -> None:
    text = "Grüße, Zoë. " + LINK + "\n"
    mail = MailMessage("zoe@example.com", "Hallo", text, f"<p>{text}</p>\n")
    raw = build_message(mail, "Auth <no-reply@example.com>").as_string()
    assert "Content-Transfer-Encoding: quoted-printable" in raw
    assert all(len(line) <= 78 for line in raw.splitlines())
    body = parsed(raw).get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content() == text
