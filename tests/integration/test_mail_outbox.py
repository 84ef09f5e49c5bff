"""The mail outbox over the real databases and a real SMTP server (aiosmtpd on loopback):
a crash between the commit and the send loses no mail, refused deliveries are retried with
back-off and finally given up, two senders racing send each mail once, a dead sender's lease
runs out, and the stored message is sealed and emptied once sent."""

from __future__ import annotations

import stat
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from A_DatabasePackage.database import Database
from B_EntityPackage.recovery_entities import OutboxMail
from E_SecurityPackage.mail_sealing import MailMessage, MailSealer
from F_RepositoryPackage.mail_sender import FolderMailSender, SmtpMailSender
from H_ServiceImplementationPackage.mail_outbox import (
    LEASE,
    MAX_ATTEMPTS,
    OutboxDrainer,
    enqueue,
    retry_delay,
)
from tests.mail_support import Inbox, smtp_server, text_of
from tests.support import TEST_SECRET_KEY, FakeClock, sql_unit_of_work

pytestmark = pytest.mark.backends("sqlite", "postgresql")

SECRET_LINK = "https://auth.example.com/password/reset?token=very-secret-token-value"
MESSAGE = MailMessage(
    to="alice@example.com", subject="Hello", text=f"Open {SECRET_LINK}", html="<p>Hello</p>"
)


@pytest.fixture
def inbox_port() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as served:
        yield served


def drainer(database: Database, port: int, clock: FakeClock) -> OutboxDrainer:
    sender = SmtpMailSender("127.0.0.1", port, "Auth <no-reply@example.com>", starttls=False)
    return OutboxDrainer(
        lambda: sql_unit_of_work(database, clock), sender, MailSealer(TEST_SECRET_KEY), clock
    )


def put(database: Database, clock: FakeClock, count: int = 1) -> None:
    uow = sql_unit_of_work(database, clock)
    with uow:
        for _ in range(count):
            enqueue(uow, MailSealer(TEST_SECRET_KEY), "test", MESSAGE, clock)
        uow.commit()


def rows(database: Database) -> list[OutboxMail]:
    with database.session_factory() as session:
        return list(session.execute(select(OutboxMail).order_by(OutboxMail.id)).scalars())


def test_a_committed_mail_is_sent_by_a_sender_started_later(
    database: Database, inbox_port: tuple[Inbox, int], clock: FakeClock
) -> None:
    """The process that committed the mail died before sending it: whoever drains next (a
    restarted worker, another instance) sends it."""
    inbox, port = inbox_port
    put(database, clock)
    assert drainer(database, port, clock).pending() == 1
    assert drainer(database, port, clock).drain_once() == 1
    (received,) = inbox.wait_for(1)
    assert received["To"] == "alice@example.com"
    assert SECRET_LINK in text_of(received)
    assert drainer(database, port, clock).pending() == 0
    assert drainer(database, port, clock).drain_once() == 0


def test_the_stored_message_is_sealed_and_emptied_once_sent(
    database: Database, inbox_port: tuple[Inbox, int], clock: FakeClock
) -> None:
    _, port = inbox_port
    put(database, clock)
    (row,) = rows(database)
    assert b"very-secret-token-value" not in row.sealed
    assert b"alice@example.com" not in row.sealed
    assert MailSealer(TEST_SECRET_KEY).open(row.sealed) == MESSAGE
    drainer(database, port, clock).drain_once()
    (row,) = rows(database)
    assert row.sent_at is not None
    assert row.sealed == b""


def test_a_refused_delivery_is_retried_with_back_off(
    database: Database, inbox_port: tuple[Inbox, int], clock: FakeClock
) -> None:
    inbox, port = inbox_port
    inbox.refuse_with = "451 4.3.0 Try again later"
    put(database, clock)
    sender = drainer(database, port, clock)
    assert sender.drain_once() == 0
    (row,) = rows(database)
    assert (row.attempts, row.last_error) == (1, "SMTP server answered 451")
    assert row.sent_at is None
    clock.advance(seconds=retry_delay(1).total_seconds() - 1)
    assert sender.drain_once() == 0  # not due yet
    assert rows(database)[0].attempts == 1
    inbox.refuse_with = None
    clock.advance(seconds=2)
    assert sender.drain_once() == 1
    assert len(inbox.wait_for(1)) == 1
    assert retry_delay(2) == 2 * retry_delay(1)


def test_a_mail_is_given_up_after_max_attempts_and_emptied(
    database: Database, inbox_port: tuple[Inbox, int], clock: FakeClock
) -> None:
    inbox, port = inbox_port
    inbox.refuse_with = "550 5.1.1 No such user"
    put(database, clock)
    sender = drainer(database, port, clock)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert sender.drain_once() == 0
        clock.advance(seconds=retry_delay(attempt).total_seconds())
    (row,) = rows(database)
    assert row.attempts == MAX_ATTEMPTS
    assert row.failed_at is not None
    assert row.sealed == b""
    assert sender.pending() == 0


def test_an_unreachable_server_is_retried(database: Database, clock: FakeClock) -> None:
    with smtp_server() as (_, port):
        pass  # the port is closed again
    put(database, clock)
    assert drainer(database, port, clock).drain_once() == 0
    (row,) = rows(database)
    assert row.attempts == 1
    assert row.last_error == "SMTP delivery failed (ConnectionRefusedError)"


def test_two_senders_racing_send_each_mail_once(
    database: Database, inbox_port: tuple[Inbox, int], clock: FakeClock
) -> None:
    inbox, port = inbox_port
    put(database, clock, count=12)
    senders = [drainer(database, port, clock) for _ in range(4)]
    barrier = threading.Barrier(len(senders))

    def drain(sender: OutboxDrainer) -> int:
        barrier.wait(timeout=10)
        return sender.drain_once()

    with ThreadPoolExecutor(max_workers=len(senders)) as pool:
        sent = sum(pool.map(drain, senders))
    assert sent == 12
    assert inbox.quiet_for(0.5) == 12


def test_a_dead_senders_lease_runs_out(
    database: Database, inbox_port: tuple[Inbox, int], clock: FakeClock
) -> None:
    inbox, port = inbox_port
    put(database, clock)
    uow = sql_unit_of_work(database, clock)
    with uow:
        (mail_id,) = uow.outbox.due_ids(clock.now(), 10)
        assert uow.outbox.take(mail_id, clock.now(), clock.now() + LEASE) is not None
        uow.commit()  # and the sender dies here, before sending
    sender = drainer(database, port, clock)
    assert sender.drain_once() == 0
    clock.advance(seconds=LEASE.total_seconds())
    assert sender.drain_once() == 1
    assert len(inbox.wait_for(1)) == 1


def test_the_folder_sender_writes_private_eml_files(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    FolderMailSender(folder, "Auth <no-reply@example.com>").send(MESSAGE)
    (written,) = folder.glob("*.eml")
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    content = written.read_text()
    assert "To: alice@example.com" in content
    assert SECRET_LINK in content
