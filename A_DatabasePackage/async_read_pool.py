"""The PostgreSQL connections of the access-token check, used from the event loop.

Every signed-in request checks its token with one read. Through psycopg2 that read has to run
in a worker thread, and handing it there and back cost a worker more CPU than the read itself
(README "Performance"); psycopg 3's async connections (the same libpq, so the same URL, TLS and
environment settings as the rest of the service) wait for the server on the event loop instead.

The pool is small and plain on purpose, like SQLAlchemy's: a request that finds no idle
connection opens one at once (up to `size`), so a database that refuses connections is an
error at once, not after a wait; only when `size` connections are in use does a request wait,
for at most `wait_seconds`. psycopg_pool opens connections in the background instead and keeps
a request waiting for its whole timeout while the database is down.

Each connection prepares a statement on the server at its first use (DB_PREPARED_STATEMENTS),
so the server parses and plans the token check once per connection instead of once per
request. PgBouncer in transaction mode follows such statements from version 1.21 on, with its
max_prepared_statements above 0; behind an older one, set DB_PREPARED_STATEMENTS=false.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.engine import URL, Dialect

from A_DatabasePackage.postgres_connections import (
    POOL_RECYCLE_SECONDS,
    POOL_TIMEOUT_SECONDS,
    POSTGRES_CONNECT_ARGS,
)

AsyncConnection = psycopg.AsyncConnection[Any]


class ReadPoolTimeoutError(Exception):
    """Every connection stayed in use for the whole wait."""


def psycopg_dialect() -> Dialect:
    """SQLAlchemy's psycopg 3 dialect (its constructor carries no type hints)."""
    dialect: Dialect = PGDialect_psycopg()  # type: ignore[no-untyped-call]
    return dialect


def conninfo_from_url(url: URL) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL (whatever its driver name),
    with the connect timeout and TCP keepalives of the request pool; the URL's own query
    parameters (sslmode and the like) win."""
    _, arguments = psycopg_dialect().create_connect_args(url)
    return psycopg.conninfo.make_conninfo("", **{**POSTGRES_CONNECT_ARGS, **arguments})


class AsyncReadPool:
    """At most `size` autocommit connections, the most recently used first, each replaced after
    POOL_RECYCLE_SECONDS like the request pool's.

    A connection serves one task at a time. The pool belongs to the event loop that uses it:
    on another loop (the application started again, a test client) it forgets the old loop's
    connections and starts afresh. With `prepare_statements` each connection prepares a
    statement on the server at its first use; without, it never does.
    """

    def __init__(
        self,
        conninfo: str,
        size: int,
        wait_seconds: float = POOL_TIMEOUT_SECONDS,
        *,
        prepare_statements: bool = True,
    ) -> None:
        self.conninfo = conninfo
        self.size = size
        self.wait_seconds = wait_seconds
        self.prepare_threshold = 0 if prepare_statements else None
        self._idle: list[tuple[AsyncConnection, float]] = []  # (connection, opened at)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots = asyncio.Semaphore(size)
        self._in_use = 0

    @property
    def idle_count(self) -> int:
        return len(self._idle)

    @property
    def in_use_count(self) -> int:
        return self._in_use

    def _bind_to_running_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self.close()
            self._loop = loop
            self._slots = asyncio.Semaphore(self.size)
            self._in_use = 0

    async def _take_slot(self) -> None:
        if not self._slots.locked():
            await self._slots.acquire()
            return
        try:
            async with asyncio.timeout(self.wait_seconds):
                await self._slots.acquire()
        except TimeoutError as error:
            raise ReadPoolTimeoutError(
                f"no read connection became free in {self.wait_seconds:g} s"
            ) from error

    async def _idle_or_new(self) -> tuple[AsyncConnection, float]:
        while self._idle:
            connection, opened_at = self._idle.pop()
            if time.monotonic() - opened_at < POOL_RECYCLE_SECONDS:
                return connection, opened_at
            await connection.close()
        opened_at = time.monotonic()
        connection = await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, prepare_threshold=self.prepare_threshold
        )
        return connection, opened_at

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """An idle connection, or a new one. One that failed, broke or was cancelled in use is
        closed, not given back."""
        self._bind_to_running_loop()
        await self._take_slot()
        self._in_use += 1
        try:
            connection, opened_at = await self._idle_or_new()
            try:
                yield connection
            except BaseException:
                await connection.close()
                raise
            if connection.broken or connection.closed:
                await connection.close()
            else:
                self._idle.append((connection, opened_at))
        finally:
            self._in_use -= 1
            self._slots.release()

    def close(self) -> None:
        """Close every idle connection: at shutdown, and after one turned out dead (the server
        restarted), since the others opened before it are dead too. The pool opens new ones if
        used again. Needs no event loop: libpq closes a connection without waiting."""
        idle, self._idle = self._idle, []
        for connection, _ in idle:
            connection.pgconn.finish()
