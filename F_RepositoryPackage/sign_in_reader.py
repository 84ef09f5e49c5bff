"""The read side of a sign-in: the account and its password hash, by username or email.

Like the access-token check (F_RepositoryPackage.access_token_reader) it only reads, before
the password is verified and outside any unit of work, so it runs one prepared Core statement
on a connection that holds no transaction: on PostgreSQL one round trip instead of a ping,
BEGIN, SELECT and ROLLBACK, and no ORM object is built for a row that is only looked at.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, select
from sqlalchemy.orm import InstrumentedAttribute

from B_EntityPackage.login_entity_master import User
from F_RepositoryPackage.login_repository import ACCOUNT_VIEW_COLUMNS, AccountView
from F_RepositoryPackage.read_side import first_row


def _account_by_lowered(column: InstrumentedAttribute[str]) -> Select[Any]:
    """The account's view columns and its hash, the last column. The database lowers both
    sides, exactly as its unique indexes do."""
    return select(*ACCOUNT_VIEW_COLUMNS, User.hashed_password).where(
        func.lower(column) == func.lower(bindparam("name"))
    )


ACCOUNT_BY_USERNAME = _account_by_lowered(User.username)
ACCOUNT_BY_EMAIL = _account_by_lowered(User.email)


@dataclass(frozen=True)
class SignInRecord:
    account: AccountView
    hashed_password: str


class SignInReader(abc.ABC):
    @abc.abstractmethod
    def find(self, sign_in_name: str) -> SignInRecord | None:
        """The account whose username, or email when the name holds an @, matches ignoring
        case, with its password hash; None when there is none."""


class SqlAlchemySignInReader(SignInReader):
    """`connect` gives a connection that commits nothing and is closed after each read
    (Database.read_connection)."""

    def __init__(self, connect: Callable[[], Connection]) -> None:
        self.connect = connect

    def find(self, sign_in_name: str) -> SignInRecord | None:
        statement = ACCOUNT_BY_EMAIL if "@" in sign_in_name else ACCOUNT_BY_USERNAME
        row = first_row(self.connect, statement, {"name": sign_in_name})
        if row is None:
            return None
        return SignInRecord(AccountView(*row[:-1]), row[-1])
