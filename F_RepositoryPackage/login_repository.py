"""Data access for users. The repository writes but never commits and never speaks HTTP:
uniqueness violations become the domain errors USERNAME_TAKEN / EMAIL_TAKEN.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from B_EntityPackage.domain import Role
from B_EntityPackage.login_entity_master import EMAIL_UNIQUE_INDEX, USERNAME_UNIQUE_INDEX, User
from B_EntityPackage.session_entities import AuthSession
from D_CustomExceptionPackage.errors import EmailTakenError, UsernameTakenError


@dataclass(frozen=True)
class AccountView:
    """An account as a signed-in request sees it: the public fields, and what decides whether
    a token still counts (is_active, token_version); never the password hash."""

    id: int
    username: str
    email: str
    full_name: str | None
    role: str
    is_active: bool
    token_version: int
    created_at: datetime
    updated_at: datetime
    email_verified_at: datetime | None

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


@dataclass(frozen=True)
class SignInCredentials:
    """What a sign-in checks: the account's view and its stored password hash."""

    account: AccountView
    hashed_password: str


_ACCOUNT_COLUMNS = tuple(getattr(User, field.name) for field in fields(AccountView))
_ACCOUNT_BY_ID = select(*_ACCOUNT_COLUMNS).where(User.id == bindparam("user_id"))
# FOR NO KEY UPDATE: it still waits for, and blocks, a password change or another sign-in's
# check, but not the KEY SHARE lock that every session row referencing the account takes.
_ACCOUNT_BY_ID_FOR_UPDATE = _ACCOUNT_BY_ID.with_for_update(key_share=True)
_ACCOUNT_IN_LIVE_SESSION = _ACCOUNT_BY_ID.where(
    exists().where(
        AuthSession.id == bindparam("session_id"),
        AuthSession.user_id == User.id,
        AuthSession.ended_at.is_(None),
        AuthSession.expires_at > bindparam("now"),
    )
)
_CREDENTIALS_BY_USERNAME, _CREDENTIALS_BY_EMAIL = (
    select(*_ACCOUNT_COLUMNS, User.hashed_password).where(
        func.lower(column) == func.lower(bindparam("name"))
    )
    for column in (User.username, User.email)
)


class UserRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, user: User) -> User:
        """Write a new user in the transaction and return it with its id; raises
        USERNAME_TAKEN / EMAIL_TAKEN."""

    @abc.abstractmethod
    def save(self, user: User) -> None:
        """Write pending changes of a loaded user; raises USERNAME_TAKEN / EMAIL_TAKEN."""

    @abc.abstractmethod
    def get(self, user_id: int) -> User | None: ...

    @abc.abstractmethod
    def account_view(self, user_id: int, lock: bool = False) -> AccountView | None:
        """The account's view (a read: nothing is loaded to be changed); with `lock`, its row
        stays locked until the unit of work ends (PostgreSQL; SQLite locks the whole database
        from a transaction's first write)."""

    @abc.abstractmethod
    def account_in_live_session(
        self, user_id: int, session_id: int, now: datetime
    ) -> AccountView | None:
        """The account's view, if that session of the account is neither ended nor expired."""

    @abc.abstractmethod
    def credentials_for_sign_in(self, sign_in_name: str) -> SignInCredentials | None:
        """The credentials of the account whose username, or email when the name holds an @,
        matches ignoring case (as the unique indexes compare them)."""

    @abc.abstractmethod
    def list_page(self, offset: int, limit: int) -> Sequence[User]: ...

    @abc.abstractmethod
    def count(self) -> int: ...

    @abc.abstractmethod
    def active_admin_ids(self, lock: bool = False) -> list[int]:
        """Ids of active admins; with `lock`, their rows stay locked until the unit of work ends
        so two concurrent demotions cannot both pass the last-admin check."""

    @abc.abstractmethod
    def delete(self, user: User) -> None: ...

    @abc.abstractmethod
    def id_by_email(self, email: str) -> int | None:
        """The account using this address (compared ignoring case), active or not."""

    @abc.abstractmethod
    def claim_lockout_notice(self, user_id: int, now: datetime, quiet_since: datetime) -> bool:
        """Record that a lockout notice goes out now, unless one went out after `quiet_since`
        (False then). One conditional UPDATE: of concurrent claims, one wins."""


def unique_violation_error(error: IntegrityError) -> UsernameTakenError | EmailTakenError | None:
    message = str(error.orig)
    if USERNAME_UNIQUE_INDEX in message:
        return UsernameTakenError()
    if EMAIL_UNIQUE_INDEX in message:
        return EmailTakenError()
    return None


@contextmanager
def translated_unique_violations(session: Session) -> Iterator[None]:
    """Turn a unique-index violation into the domain error that names the taken field; the
    session is rolled back, so the caller's unit of work is over either way."""
    try:
        yield
    except IntegrityError as error:
        session.rollback()
        domain_error = unique_violation_error(error)
        if domain_error is None:
            raise
        raise domain_error from None


class SqlAlchemyUserRepository(UserRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, user: User) -> User:
        self.session.add(user)
        with translated_unique_violations(self.session):
            self.session.flush()
        return user

    def save(self, user: User) -> None:
        with translated_unique_violations(self.session):
            self.session.flush()

    def get(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def account_view(self, user_id: int, lock: bool = False) -> AccountView | None:
        statement = _ACCOUNT_BY_ID_FOR_UPDATE if lock else _ACCOUNT_BY_ID
        row = self.session.connection().execute(statement, {"user_id": user_id}).first()
        return AccountView(*row) if row is not None else None

    def account_in_live_session(
        self, user_id: int, session_id: int, now: datetime
    ) -> AccountView | None:
        parameters = {"user_id": user_id, "session_id": session_id, "now": now}
        row = self.session.connection().execute(_ACCOUNT_IN_LIVE_SESSION, parameters).first()
        return AccountView(*row) if row is not None else None

    def credentials_for_sign_in(self, sign_in_name: str) -> SignInCredentials | None:
        statement = _CREDENTIALS_BY_EMAIL if "@" in sign_in_name else _CREDENTIALS_BY_USERNAME
        row = self.session.connection().execute(statement, {"name": sign_in_name}).first()
        if row is None:
            return None
        return SignInCredentials(AccountView(*row[:-1]), row[-1])

    def list_page(self, offset: int, limit: int) -> Sequence[User]:
        statement = select(User).order_by(User.id).offset(offset).limit(limit)
        return self.session.scalars(statement).all()

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(User)) or 0)

    def active_admin_ids(self, lock: bool = False) -> list[int]:
        statement = (
            select(User.id)
            .where(User.role == Role.ADMIN.value, User.is_active.is_(True))
            .order_by(User.id)
        )
        if lock:
            statement = statement.with_for_update()
        return list(self.session.scalars(statement).all())

    def delete(self, user: User) -> None:
        self.session.delete(user)
        self.session.flush()

    def id_by_email(self, email: str) -> int | None:
        statement = select(User.id).where(func.lower(User.email) == func.lower(email))
        user_id: int | None = self.session.execute(statement).scalar_one_or_none()
        return user_id

    def claim_lockout_notice(self, user_id: int, now: datetime, quiet_since: datetime) -> bool:
        statement = (
            update(User)
            .where(
                User.id == user_id,
                or_(User.lockout_notice_at.is_(None), User.lockout_notice_at <= quiet_since),
            )
            .values(lockout_notice_at=now)
            .execution_options(synchronize_session=False)
        )
        result = cast(CursorResult[Any], self.session.execute(statement))
        return int(result.rowcount) == 1
