"""One unit of work per request (cosmicpython, chapter 6): it opens its own session from the
factory, holds every repository (the ended-token store included), and the service decides
when to commit; leaving the block without a commit rolls everything back."""

from __future__ import annotations

import abc
from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session

from F_RepositoryPackage.audit_repository import AuditRepository, SqlAlchemyAuditRepository
from F_RepositoryPackage.login_repository import SqlAlchemyUserRepository, UserRepository
from F_RepositoryPackage.mfa_repository import MfaRepository, SqlAlchemyMfaRepository
from F_RepositoryPackage.recovery_repository import (
    OneTimeTokenRepository,
    OutboxRepository,
    SqlAlchemyOneTimeTokenRepository,
    SqlAlchemyOutboxRepository,
)
from F_RepositoryPackage.session_repository import SessionRepository, SqlAlchemySessionRepository
from F_RepositoryPackage.signing_key_repository import (
    SigningKeyRepository,
    SqlAlchemySigningKeyRepository,
)
from F_RepositoryPackage.token_denylist import TokenDenylist

DenylistFactory = Callable[[Session], TokenDenylist]
"""Builds the ended-token store for a unit of work's session (the composition root chooses
the database's or Redis)."""


class AbstractUnitOfWork(abc.ABC):
    users: UserRepository
    sessions: SessionRepository
    audit: AuditRepository
    mfa: MfaRepository
    signing_keys: SigningKeyRepository
    denied_tokens: TokenDenylist
    one_time_tokens: OneTimeTokenRepository
    outbox: OutboxRepository

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    """Each `with` block is a new session (a new transaction) from `session_factory`, closed
    at the end of the block; the same object can be entered again for the next block."""

    def __init__(
        self, session_factory: Callable[[], Session], denylist_factory: DenylistFactory
    ) -> None:
        self.session_factory = session_factory
        self.denylist_factory = denylist_factory

    def __enter__(self) -> Self:
        self.session = self.session_factory()
        self.users = SqlAlchemyUserRepository(self.session)
        self.sessions = SqlAlchemySessionRepository(self.session)
        self.audit = SqlAlchemyAuditRepository(self.session)
        self.mfa = SqlAlchemyMfaRepository(self.session)
        self.signing_keys = SqlAlchemySigningKeyRepository(self.session)
        self.denied_tokens = self.denylist_factory(self.session)
        self.one_time_tokens = SqlAlchemyOneTimeTokenRepository(self.session)
        self.outbox = SqlAlchemyOutboxRepository(self.session)
        return super().__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        super().__exit__(exc_type, exc, traceback)
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
