"""The read side of the access-token check that every signed-in request makes.

It is a view in the sense of *Architecture Patterns with Python*, chapter 12: it only reads,
so it skips the ORM session and the unit of work and runs one prepared Core statement on a
pooled connection of its own. Built once per application, the statements are compiled once
per database; a check costs one statement (one round trip on PostgreSQL) when the denylist is
the database's own table, and the account statement after one Redis EXISTS otherwise.

On PostgreSQL the statement runs on the event loop (psycopg 3's async connections), so a check
costs no trip to a worker thread; on SQLite, whose driver only blocks, it runs in one.
"""

from __future__ import annotations

import abc
from collections.abc import Callable

from sqlalchemy import Connection, bindparam, exists, select

from A_DatabasePackage.async_read_pool import AsyncReadPool
from B_EntityPackage.login_entity_master import User
from B_EntityPackage.session_entities import RevokedAccessToken
from E_SecurityPackage.clock import Clock
from E_SecurityPackage.token_denylist import TokenDenylist
from F_RepositoryPackage.compiled_statement import Row
from F_RepositoryPackage.login_repository import ACCOUNT_VIEW_COLUMNS, AccountView
from F_RepositoryPackage.read_side import (
    PostgresRead,
    first_row,
    first_row_async,
    in_worker_thread,
)

ACCOUNT_BY_ID = select(*ACCOUNT_VIEW_COLUMNS).where(User.id == bindparam("user_id"))
TOKEN_IS_DENIED = exists().where(
    RevokedAccessToken.jti == bindparam("jti"),
    RevokedAccessToken.expires_at > bindparam("now"),
)
ACCOUNT_BY_ID_WITH_DENIAL = ACCOUNT_BY_ID.add_columns(TOKEN_IS_DENIED.label("denied"))


def account_view(row: Row | None) -> AccountView | None:
    """The view of an ACCOUNT_BY_ID row."""
    return AccountView(*row) if row is not None else None


def account_view_unless_denied(row: Row | None) -> AccountView | None:
    """The view of an ACCOUNT_BY_ID_WITH_DENIAL row, or None when the token is denied (the
    last column)."""
    if row is None or row[-1]:
        return None
    return AccountView(*row[:-1])


class AccessTokenReader(abc.ABC):
    @abc.abstractmethod
    async def account_of(self, user_id: int, jti: str) -> AccountView | None:
        """The account an access token names, or None when there is no such account or the
        token (its `jti`) is on the denylist."""


class SqlAlchemyAccessTokenReader(AccessTokenReader):
    """`connect` gives a connection that commits nothing and is closed after each check
    (Database.read_connection); the check runs in a worker thread. With `denylist` (Redis)
    that store is asked first; without it the database's denylist is read in the same
    statement as the account."""

    def __init__(
        self,
        connect: Callable[[], Connection],
        clock: Clock,
        denylist: TokenDenylist | None = None,
    ) -> None:
        self.connect = connect
        self.clock = clock
        self.denylist = denylist

    async def account_of(self, user_id: int, jti: str) -> AccountView | None:
        return await in_worker_thread(self.read_account, user_id, jti)

    def read_account(self, user_id: int, jti: str) -> AccountView | None:
        """The check itself; it blocks."""
        if self.denylist is not None:
            if self.denylist.is_denied(jti):
                return None
            return account_view(first_row(self.connect, ACCOUNT_BY_ID, {"user_id": user_id}))
        parameters = {"user_id": user_id, "jti": jti, "now": self.clock.now()}
        return account_view_unless_denied(
            first_row(self.connect, ACCOUNT_BY_ID_WITH_DENIAL, parameters)
        )


ACCOUNT_BY_ID_READ = PostgresRead(ACCOUNT_BY_ID)
ACCOUNT_BY_ID_WITH_DENIAL_READ = PostgresRead(ACCOUNT_BY_ID_WITH_DENIAL)


class PostgresAccessTokenReader(AccessTokenReader):
    """The same check on psycopg 3's async pool (Database.async_read_pool), on the event loop.
    Redis's client only blocks, so with `denylist` that store is asked in a worker thread
    first, as SqlAlchemyAccessTokenReader does."""

    def __init__(
        self, pool: AsyncReadPool, clock: Clock, denylist: TokenDenylist | None = None
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.denylist = denylist

    async def account_of(self, user_id: int, jti: str) -> AccountView | None:
        if self.denylist is not None:
            if await in_worker_thread(self.denylist.is_denied, jti):
                return None
            row = await first_row_async(self.pool, ACCOUNT_BY_ID_READ, {"user_id": user_id})
            return account_view(row)
        parameters = {"user_id": user_id, "jti": jti, "now": self.clock.now()}
        return account_view_unless_denied(
            await first_row_async(self.pool, ACCOUNT_BY_ID_WITH_DENIAL_READ, parameters)
        )
