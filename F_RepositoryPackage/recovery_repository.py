"""Data access for account recovery: one-time tokens and the mail outbox.

Every change that must not be done twice (spending a token, taking a code attempt, taking a
mail to send) is one conditional UPDATE whose row count says whether this caller won, so two
workers or instances racing for the same row cannot both succeed, on SQLite or PostgreSQL.
"""

from __future__ import annotations

import abc
from collections.abc import Collection
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Result, and_, func, select, update
from sqlalchemy.orm import Session

from B_EntityPackage.login_entity_master import User
from B_EntityPackage.recovery_entities import OneTimeToken, OutboxMail

ERROR_MAX_LENGTH = 200


class OneTimeTokenRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, token: OneTimeToken) -> None: ...

    @abc.abstractmethod
    def active_user_id_by_email(self, email: str) -> int | None:
        """The active account using this address (compared ignoring case), if any."""

    @abc.abstractmethod
    def live_by_hash(
        self, token_hash: str, purposes: Collection[str], now: datetime
    ) -> OneTimeToken | None:
        """An unspent, unexpired token of one of these purposes."""

    @abc.abstractmethod
    def newest_live_for_email(self, email: str, purpose: str, now: datetime) -> OneTimeToken | None:
        """The newest unspent, unexpired token of this purpose about this address (compared
        ignoring case)."""

    @abc.abstractmethod
    def newest_live_of_user(
        self, user_id: int, purpose: str, now: datetime
    ) -> OneTimeToken | None: ...

    @abc.abstractmethod
    def take_code_attempt(self, token_id: int, max_attempts: int) -> bool:
        """Count one code attempt before the code is compared; False when none is left."""

    @abc.abstractmethod
    def spend(self, token_id: int, now: datetime) -> bool:
        """Mark the token used; False when it already was (another request won)."""

    @abc.abstractmethod
    def spend_all_of_user(self, user_id: int, now: datetime, purposes: Collection[str]) -> int:
        """Spend every unspent token of the account of these purposes; how many."""


class OutboxRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, mail: OutboxMail) -> None: ...

    @abc.abstractmethod
    def due_ids(self, now: datetime, limit: int) -> list[int]: ...

    @abc.abstractmethod
    def take(self, mail_id: int, now: datetime, lease_until: datetime) -> OutboxMail | None:
        """Take a due mail for sending until `lease_until` (counting the attempt); None when
        another sender took it first or it is no longer due."""

    @abc.abstractmethod
    def mark_sent(self, mail_id: int, now: datetime) -> None: ...

    @abc.abstractmethod
    def retry_at(self, mail_id: int, when: datetime, error: str) -> None: ...

    @abc.abstractmethod
    def give_up(self, mail_id: int, now: datetime, error: str) -> None: ...

    @abc.abstractmethod
    def pending_count(self) -> int:
        """Mails neither sent nor given up."""


def _rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE matched (an UPDATE's result is always a CursorResult)."""
    return int(cast(CursorResult[Any], result).rowcount)


class SqlAlchemyOneTimeTokenRepository(OneTimeTokenRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, token: OneTimeToken) -> None:
        self.session.add(token)
        self.session.flush()

    def active_user_id_by_email(self, email: str) -> int | None:
        statement = select(User.id).where(
            func.lower(User.email) == email.lower(), User.is_active.is_(True)
        )
        user_id: int | None = self.session.execute(statement).scalar_one_or_none()
        return user_id

    def live_by_hash(
        self, token_hash: str, purposes: Collection[str], now: datetime
    ) -> OneTimeToken | None:
        statement = select(OneTimeToken).where(
            OneTimeToken.token_hash == token_hash,
            OneTimeToken.purpose.in_(purposes),
            OneTimeToken.used_at.is_(None),
            OneTimeToken.expires_at > now,
        )
        return self.session.execute(statement).scalar_one_or_none()

    def newest_live_for_email(self, email: str, purpose: str, now: datetime) -> OneTimeToken | None:
        return self._newest_live(purpose, now, func.lower(OneTimeToken.email) == func.lower(email))

    def newest_live_of_user(self, user_id: int, purpose: str, now: datetime) -> OneTimeToken | None:
        return self._newest_live(purpose, now, OneTimeToken.user_id == user_id)

    def _newest_live(
        self, purpose: str, now: datetime, condition: ColumnElement[bool]
    ) -> OneTimeToken | None:
        statement = (
            select(OneTimeToken)
            .where(
                condition,
                OneTimeToken.purpose == purpose,
                OneTimeToken.used_at.is_(None),
                OneTimeToken.expires_at > now,
            )
            .order_by(OneTimeToken.id.desc())
            .limit(1)
        )
        return self.session.execute(statement).scalar_one_or_none()

    def take_code_attempt(self, token_id: int, max_attempts: int) -> bool:
        statement = (
            update(OneTimeToken)
            .where(
                OneTimeToken.id == token_id,
                OneTimeToken.used_at.is_(None),
                OneTimeToken.code_attempts < max_attempts,
            )
            .values(code_attempts=OneTimeToken.code_attempts + 1)
        )
        return _rowcount(self.session.execute(statement)) == 1

    def spend(self, token_id: int, now: datetime) -> bool:
        statement = (
            update(OneTimeToken)
            .where(OneTimeToken.id == token_id, OneTimeToken.used_at.is_(None))
            .values(used_at=now)
        )
        return _rowcount(self.session.execute(statement)) == 1

    def spend_all_of_user(self, user_id: int, now: datetime, purposes: Collection[str]) -> int:
        statement = (
            update(OneTimeToken)
            .where(
                OneTimeToken.user_id == user_id,
                OneTimeToken.used_at.is_(None),
                OneTimeToken.purpose.in_(purposes),
            )
            .values(used_at=now)
        )
        return _rowcount(self.session.execute(statement))


def _pending() -> ColumnElement[bool]:
    return and_(OutboxMail.sent_at.is_(None), OutboxMail.failed_at.is_(None))


class SqlAlchemyOutboxRepository(OutboxRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, mail: OutboxMail) -> None:
        self.session.add(mail)
        self.session.flush()

    def due_ids(self, now: datetime, limit: int) -> list[int]:
        statement = (
            select(OutboxMail.id)
            .where(_pending(), OutboxMail.next_attempt_at <= now)
            .order_by(OutboxMail.next_attempt_at, OutboxMail.id)
            .limit(limit)
        )
        return list(self.session.execute(statement).scalars())

    def take(self, mail_id: int, now: datetime, lease_until: datetime) -> OutboxMail | None:
        statement = (
            update(OutboxMail)
            .where(OutboxMail.id == mail_id, _pending(), OutboxMail.next_attempt_at <= now)
            .values(next_attempt_at=lease_until, attempts=OutboxMail.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if _rowcount(self.session.execute(statement)) != 1:
            return None
        return self.session.get(OutboxMail, mail_id, populate_existing=True)

    def mark_sent(self, mail_id: int, now: datetime) -> None:
        self._finish(mail_id, sent_at=now)

    def retry_at(self, mail_id: int, when: datetime, error: str) -> None:
        statement = (
            update(OutboxMail)
            .where(OutboxMail.id == mail_id)
            .values(next_attempt_at=when, last_error=error[:ERROR_MAX_LENGTH])
            .execution_options(synchronize_session=False)
        )
        self.session.execute(statement)

    def give_up(self, mail_id: int, now: datetime, error: str) -> None:
        self._finish(mail_id, failed_at=now, last_error=error[:ERROR_MAX_LENGTH])

    def _finish(self, mail_id: int, **values: object) -> None:
        """Sent or given up: the sealed message (which may hold a live link) is emptied."""
        statement = (
            update(OutboxMail)
            .where(OutboxMail.id == mail_id)
            .values(sealed=b"", **values)
            .execution_options(synchronize_session=False)
        )
        self.session.execute(statement)

    def pending_count(self) -> int:
        statement = select(func.count()).select_from(OutboxMail).where(_pending())
        return int(self.session.execute(statement).scalar_one())
