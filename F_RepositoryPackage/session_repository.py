"""Data access for sign-in sessions, their refresh tokens and the access tokens they issued."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from B_EntityPackage.session_entities import (
    AuthSession,
    RefreshToken,
    RevokedAccessToken,
    SessionAccessToken,
)
from D_CustomExceptionPackage.errors import UserNotFoundError
from F_RepositoryPackage.token_denylist import DeniedToken

PRUNE_LOCK_KEY = 7_240_113_002


class SessionRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, auth_session: AuthSession) -> int:
        """Write a new session in the transaction and return its id; USER_NOT_FOUND when its
        account no longer exists."""

    @abc.abstractmethod
    def get(self, session_id: int, lock: bool = False) -> AuthSession | None:
        """With `lock`, the session's row stays locked until the unit of work ends, so ending
        it waits for a refresh in progress (PostgreSQL; SQLite serialises all writes)."""

    @abc.abstractmethod
    def active_of_user(self, user_id: int, now: datetime) -> Sequence[AuthSession]: ...

    @abc.abstractmethod
    def add_refresh_token(self, token: RefreshToken) -> None:
        """Write a new refresh token in the transaction."""

    @abc.abstractmethod
    def find_refresh_token(self, token_hash: str) -> RefreshToken | None: ...

    @abc.abstractmethod
    def spend_refresh_token(self, token_hash: str, now: datetime) -> bool:
        """Mark an unspent, unexpired token spent in one conditional UPDATE. True for exactly
        one caller when several race with the same token."""

    @abc.abstractmethod
    def record_access_token(self, session_id: int, jti: str, expires_at: datetime) -> None: ...

    @abc.abstractmethod
    def end(self, auth_session: AuthSession, now: datetime) -> list[DeniedToken]:
        """End a live session; returns its access tokens that have not yet expired (none for a
        session ended before)."""

    @abc.abstractmethod
    def end_all_of_user(self, user_id: int, now: datetime) -> list[DeniedToken]:
        """End every live session of the account in one statement; returns the access tokens
        of its sessions that have not yet expired."""

    @abc.abstractmethod
    def live_ids_of_user(self, user_id: int, now: datetime) -> list[int]:
        """Ids of the account's sessions neither ended nor expired, oldest first."""

    @abc.abstractmethod
    def end_ids(self, session_ids: Sequence[int], now: datetime) -> list[DeniedToken]:
        """End these sessions in one statement; returns their unexpired access tokens."""

    @abc.abstractmethod
    def prune_expired(self, now: datetime) -> bool:
        """Delete expired sessions (with their tokens), expired refresh tokens (spent ones
        included), expired access-token records and expired ended-token entries. Returns False
        when another transaction is already pruning (it is skipped rather than waited for)."""


_INSERT_SESSION = insert(AuthSession).returning(AuthSession.id)


class SqlAlchemySessionRepository(SessionRepository):
    """The rows a sign-in writes go in as Core INSERTs on the unit of work's connection, at
    once; sessions that change are loaded and flushed through the ORM."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, auth_session: AuthSession) -> int:
        values = {
            "user_id": auth_session.user_id,
            "created_at": auth_session.created_at,
            "last_used_at": auth_session.last_used_at,
            "expires_at": auth_session.expires_at,
            "user_agent": auth_session.user_agent,
            "ip": auth_session.ip,
            "amr": auth_session.amr or "pwd",
        }
        try:
            inserted = self.session.connection().execute(_INSERT_SESSION, values)
        except IntegrityError as error:  # the account's row is gone (foreign key)
            raise UserNotFoundError() from error
        session_id: int = inserted.scalar_one()
        return session_id

    def get(self, session_id: int, lock: bool = False) -> AuthSession | None:
        return self.session.get(AuthSession, session_id, with_for_update=lock)

    def active_of_user(self, user_id: int, now: datetime) -> Sequence[AuthSession]:
        statement = (
            select(AuthSession)
            .where(
                AuthSession.user_id == user_id,
                AuthSession.ended_at.is_(None),
                AuthSession.expires_at > now,
            )
            .order_by(AuthSession.id)
        )
        return self.session.scalars(statement).all()

    def add_refresh_token(self, token: RefreshToken) -> None:
        values = {
            "session_id": token.session_id,
            "token_hash": token.token_hash,
            "created_at": token.created_at,
            "expires_at": token.expires_at,
        }
        self.session.connection().execute(insert(RefreshToken), values)

    def find_refresh_token(self, token_hash: str) -> RefreshToken | None:
        statement = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
        return self.session.scalars(statement).first()

    def spend_refresh_token(self, token_hash: str, now: datetime) -> bool:
        statement = (
            update(RefreshToken)
            .where(
                RefreshToken.token_hash == token_hash,
                RefreshToken.spent_at.is_(None),
                RefreshToken.expires_at > now,
            )
            .values(spent_at=now)
            .execution_options(synchronize_session=False)
        )
        result = cast(CursorResult[Any], self.session.execute(statement))
        return result.rowcount == 1

    def record_access_token(self, session_id: int, jti: str, expires_at: datetime) -> None:
        values = {"jti": jti, "session_id": session_id, "expires_at": expires_at}
        self.session.connection().execute(insert(SessionAccessToken), values)

    def end(self, auth_session: AuthSession, now: datetime) -> list[DeniedToken]:
        return self._end_where(AuthSession.id == auth_session.id, now)

    def end_all_of_user(self, user_id: int, now: datetime) -> list[DeniedToken]:
        return self._end_where(AuthSession.user_id == user_id, now)

    def live_ids_of_user(self, user_id: int, now: datetime) -> list[int]:
        statement = (
            select(AuthSession.id)
            .where(
                AuthSession.user_id == user_id,
                AuthSession.ended_at.is_(None),
                AuthSession.expires_at > now,
            )
            .order_by(AuthSession.id)
        )
        return list(self.session.scalars(statement).all())

    def end_ids(self, session_ids: Sequence[int], now: datetime) -> list[DeniedToken]:
        return self._end_where(AuthSession.id.in_(list(session_ids)), now)

    def _end_where(self, which: ColumnElement[bool], now: datetime) -> list[DeniedToken]:
        """One UPDATE ends the live sessions `which` selects; returns the unexpired access
        tokens of those it ended. The sessions are written before their access tokens are
        read, so a refresh of one of them in progress (which holds the session's row, or
        SQLite's write lock) commits first and its new token is among those returned."""
        ended = self.session.execute(
            update(AuthSession)
            .where(which, AuthSession.ended_at.is_(None))
            .values(ended_at=now)
            .returning(AuthSession.id)
            .execution_options(synchronize_session="fetch")
        )
        ids = list(ended.scalars().all())
        if not ids:
            return []
        live = self.session.execute(
            select(SessionAccessToken.jti, SessionAccessToken.expires_at).where(
                SessionAccessToken.session_id.in_(ids), SessionAccessToken.expires_at > now
            )
        ).all()
        return [DeniedToken(jti=jti, expires_at=expires_at) for jti, expires_at in live]

    def prune_expired(self, now: datetime) -> bool:
        # Two transactions deleting overlapping rows could deadlock on PostgreSQL; a
        # transaction-scoped advisory try-lock lets one prune while the others skip.
        if self.session.get_bind().dialect.name == "postgresql":
            locked = self.session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PRUNE_LOCK_KEY}
            )
            if not locked:
                return False
        self.session.execute(delete(AuthSession).where(AuthSession.expires_at <= now))
        self.session.execute(delete(RefreshToken).where(RefreshToken.expires_at <= now))
        self.session.execute(delete(SessionAccessToken).where(SessionAccessToken.expires_at <= now))
        self.session.execute(delete(RevokedAccessToken).where(RevokedAccessToken.expires_at <= now))
        return True
