"""Data access for users. The repository writes but never commits and never speaks HTTP:
uniqueness violations become the domain errors USERNAME_TAKEN / EMAIL_TAKEN.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from B_EntityPackage.login_entity_master import (
    EMAIL_UNIQUE_INDEX,
    USERNAME_UNIQUE_INDEX,
    Role,
    User,
)
from D_CustomExceptionPackage.errors import EmailTakenError, UsernameTakenError
from F_RepositoryPackage.core_insert import insert_new


@dataclass(frozen=True)
class AccountView:
    """An account as the access-token check reads it: the public fields plus what decides
    whether a token still counts (is_active, token_version); never the password hash."""

    id: int
    username: str
    email: str
    full_name: str | None
    role: str
    is_active: bool
    token_version: int
    created_at: datetime
    updated_at: datetime


# The User columns of the same names, in the view's order (AccountView(*row) relies on it);
# read by the read side (F_RepositoryPackage.access_token_reader, .sign_in_reader).
ACCOUNT_VIEW_COLUMNS = tuple(getattr(User, view_field.name) for view_field in fields(AccountView))


class UserRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, user: User) -> User:
        """Write a new user in the transaction and return it with its id and every default
        the database applied; raises USERNAME_TAKEN / EMAIL_TAKEN. The entity is not tracked:
        a later change to it is not saved (load it with `get` to change it)."""

    @abc.abstractmethod
    def save(self, user: User) -> None:
        """Write pending changes of a loaded user; raises USERNAME_TAKEN / EMAIL_TAKEN."""

    @abc.abstractmethod
    def get(self, user_id: int) -> User | None: ...

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


def unique_violation_error(error: IntegrityError) -> UsernameTakenError | EmailTakenError | None:
    message = str(error.orig)
    if USERNAME_UNIQUE_INDEX in message:
        return UsernameTakenError()
    if EMAIL_UNIQUE_INDEX in message:
        return EmailTakenError()
    return None


@contextmanager
def translated_unique_violations(session: Session) -> Iterator[None]:
    """Turn a unique-index violation into the domain error that names the taken field.

    The failed statement is rolled back to a savepoint-free state by the session rollback; the
    caller's unit of work is over either way.
    """
    try:
        yield
    except IntegrityError as error:
        session.rollback()
        domain_error = unique_violation_error(error)
        if domain_error is None:
            raise
        raise domain_error from None


_USER_COLUMNS = tuple(User.__table__.columns)
_INSERT_USER = insert(User).returning(*_USER_COLUMNS)


class SqlAlchemyUserRepository(UserRepository):
    """A new account goes in with a Core INSERT (F_RepositoryPackage.core_insert), as the rows
    of a sign-in do: /register then costs about 0.25 ms less CPU (README "Performance"). Every
    other change is flushed from the loaded entity."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, user: User) -> User:
        with translated_unique_violations(self.session):
            stored = insert_new(self.session, _INSERT_USER, user).one()
        for column, value in zip(_USER_COLUMNS, stored, strict=True):
            setattr(user, column.key, value)
        return user

    def save(self, user: User) -> None:
        with translated_unique_violations(self.session):
            self.session.flush()

    def get(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

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
