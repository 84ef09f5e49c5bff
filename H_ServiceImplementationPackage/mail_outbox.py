"""The mail outbox: services put mails in it within their own transaction; the drainer sends
them later, off the request path, so a crash after the commit loses no mail.

Each due mail is taken with a lease (`OutboxRepository.take`, one conditional UPDATE), so
several workers and instances drain the same outbox without sending a mail twice; a sender
that dies holding a lease only delays its mail until the lease ends. A failed delivery is
retried with exponential back-off, and given up after MAX_ATTEMPTS. Delivery is at least
once: a crash between the server's acceptance and the commit of `sent_at` sends it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from B_EntityPackage.domain import Clock
from B_EntityPackage.recovery_entities import OutboxMail
from E_SecurityPackage.mail_sealing import MailMessage, MailSealer, UnreadableMailError
from F_RepositoryPackage.mail_sender import MailDeliveryError, MailSender
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork

logger = logging.getLogger("auth_service.mail")

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
LEASE = timedelta(minutes=2)
BATCH = 20


def retry_delay(attempts: int) -> timedelta:
    """30 s after the first failure, doubling, at most an hour."""
    delay: timedelta = FIRST_RETRY * (2 ** max(0, attempts - 1))
    return min(delay, LONGEST_RETRY)


def enqueue(
    uow: AbstractUnitOfWork, sealer: MailSealer, kind: str, message: MailMessage, clock: Clock
) -> None:
    """In the caller's open unit of work: the mail is sent only if the caller commits."""
    now = clock.now()
    uow.outbox.add(
        OutboxMail(
            kind=kind, sealed=sealer.seal(message), created_at=now, next_attempt_at=now, attempts=0
        )
    )


class OutboxDrainer:
    def __init__(
        self,
        new_unit_of_work: Callable[[], AbstractUnitOfWork],
        sender: MailSender,
        sealer: MailSealer,
        clock: Clock,
    ) -> None:
        self.new_unit_of_work = new_unit_of_work
        self.sender = sender
        self.sealer = sealer
        self.clock = clock

    def drain_once(self) -> int:
        """Send every mail due now (up to BATCH); how many were sent."""
        uow = self.new_unit_of_work()
        with uow:
            due = uow.outbox.due_ids(self.clock.now(), BATCH)
        return sum(self._send_one(uow, mail_id) for mail_id in due)

    def pending(self) -> int:
        uow = self.new_unit_of_work()
        with uow:
            return uow.outbox.pending_count()

    def _send_one(self, uow: AbstractUnitOfWork, mail_id: int) -> bool:
        now = self.clock.now()
        with uow:
            mail = uow.outbox.take(mail_id, now, now + LEASE)
            if mail is None:
                return False  # another sender took it
            kind, attempts, sealed = mail.kind, mail.attempts, mail.sealed
            uow.commit()
        try:
            self.sender.send(self.sealer.open(sealed))
        except UnreadableMailError as error:
            self._failed(uow, mail_id, kind, MAX_ATTEMPTS, str(error))
            return False
        except MailDeliveryError as error:
            self._failed(uow, mail_id, kind, attempts, str(error))
            return False
        with uow:
            uow.outbox.mark_sent(mail_id, self.clock.now())
            uow.commit()
        logger.info("mail sent", extra={"mail_id": mail_id, "kind": kind, "attempts": attempts})
        return True

    def _failed(
        self, uow: AbstractUnitOfWork, mail_id: int, kind: str, attempts: int, error: str
    ) -> None:
        now = self.clock.now()
        with uow:
            if attempts >= MAX_ATTEMPTS:
                uow.outbox.give_up(mail_id, now, error)
            else:
                uow.outbox.retry_at(mail_id, now + retry_delay(attempts), error)
            uow.commit()
        logger.warning(
            "mail not sent",
            extra={
                "mail_id": mail_id,
                "kind": kind,
                "attempts": attempts,
                "error": error,
                "given_up": attempts >= MAX_ATTEMPTS,
            },
        )
