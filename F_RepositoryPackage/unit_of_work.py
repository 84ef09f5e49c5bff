"""One unit of work per request (cosmicpython, chapter 6): the service decides when to commit;
leaving the block without a commit rolls everything back."""

from __future__ import annotations

import abc
from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session

from F_RepositoryPackage.audit_repository import AuditRepository, SqlAlchemyAuditRepository
from F_RepositoryPackage.login_repository import SqlAlchemyUserRepository, UserRepository
from F_RepositoryPackage.session_repository import SessionRepository, SqlAlchemySessionRepository


class AbstractUnitOfWork(abc.ABC):
    users: UserRepository
    sessions: SessionRepository
    audit: AuditRepository

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
    """Works on a session it is given (the request's) or one it opens from a factory."""

    def __init__(
        self,
        session: Session | None = None,
        session_factory: Callable[[], Session] | None = None,
    ) -> None:
        if (session is None) == (session_factory is None):
            raise ValueError("give either a session or a session factory")
        self._owns_session = session is None
        if session is None and session_factory is not None:
            session = session_factory()
        if session is None:
            raise ValueError("the session factory returned nothing")
        self.session = session
        self.users = SqlAlchemyUserRepository(self.session)
        self.sessions = SqlAlchemySessionRepository(self.session)
        self.audit = SqlAlchemyAuditRepository(self.session)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        super().__exit__(exc_type, exc, traceback)
        if self._owns_session:
            self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
