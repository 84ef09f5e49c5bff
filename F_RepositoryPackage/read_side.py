"""What the read side's statements share (F_RepositoryPackage.access_token_reader,
F_RepositoryPackage.sign_in_reader): one prepared Core statement on a pooled connection that
holds no transaction, read again once if that connection was dead or had lost the statement
it prepared on the server.

`first_row` runs on a SQLAlchemy connection (Database.read_connection), in a worker thread
(`in_worker_thread`); `first_row_async` runs on psycopg 3's async pool
(Database.async_read_pool), on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from typing import Any, TypeVar

import psycopg
from sqlalchemy import Connection, Select
from sqlalchemy.exc import DBAPIError

from A_DatabasePackage.async_read_pool import AsyncReadPool, ReadPoolTimeoutError, psycopg_dialect
from D_CustomExceptionPackage.errors import ServiceUnavailableError
from F_RepositoryPackage.compiled_statement import CompiledStatement, Parameters, Row

logger = logging.getLogger("auth_service.errors")

Result = TypeVar("Result")

READ_THREADS = 40
"""As many blocking reads at once as anyio's default thread limit allowed before. The event
loop's default pool has only CPUs + 4 threads: behind a Redis that hangs until its 1 s timeout,
the token checks of a two-core machine would have waited in line six at a time."""
_read_threads = ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="read-side")


async def in_worker_thread(read: Callable[..., Result], *args: Any) -> Result:
    """`read(*args)` on a thread of the read side's pool, with the caller's context variables
    (a log line written there carries the request's id).

    A thread hop costs the process 50-60 us of CPU, a tenth of a token check; anyio's
    `to_thread.run_sync` adds 10 us more for a capacity limiter and a cancel scope that a
    short read does not need (README "Performance"). A cancelled caller stops waiting at
    once; the read finishes in its thread and gives its connection back.
    """
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_read_threads, copy_context().run, read, *args)


def first_row(
    connect: Callable[[], Connection], statement: Select[Any], parameters: dict[str, Any]
) -> Row | None:
    """The statement's first row, or None.

    Runs once more on a fresh connection if the pooled one turned out dead (the server
    restarted while it sat in the pool; these connections are not pinged before use): the
    statement only reads, so repeating it is safe. The failure also has the pool replace every
    connection opened before it.
    """
    try:
        with connect() as connection:
            return connection.execute(statement, parameters).first()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
    with connect() as connection:
        return connection.execute(statement, parameters).first()


class PostgresRead(CompiledStatement):
    """A SELECT compiled once for psycopg 3 (F_RepositoryPackage.compiled_statement)."""

    dialect = psycopg_dialect()

    def __init__(self, statement: Select[Any]) -> None:
        super().__init__(statement, self.dialect, returned=list(statement.selected_columns))


class _ConnectionDiedError(Exception):
    """The pooled connection was dead before the statement could run."""


class _PreparedStatementLostError(Exception):
    """The server no longer had the statement this connection prepared (a pooler that does not
    follow prepared statements handed the read to another server connection, or someone ran
    DEALLOCATE), or its cached plan no longer fits (a migration changed a column's type)."""


PREPARED_STATEMENT_LOST = (
    psycopg.errors.InvalidSqlStatementName,  # 26000: prepared statement "_pg3_0" does not exist
    psycopg.errors.FeatureNotSupported,  # 0A000: cached plan must not change result type
)


async def _read(pool: AsyncReadPool, read: PostgresRead, bound: Parameters) -> Row | None:
    async with pool.connection() as connection:
        try:
            cursor = await connection.execute(read.sql, bound)
            values = await cursor.fetchone()
        except psycopg.OperationalError as error:
            if connection.closed:  # pool.connection() drops it
                raise _ConnectionDiedError() from error
            raise
        except PREPARED_STATEMENT_LOST as error:  # pool.connection() drops this one too
            raise _PreparedStatementLostError() from error
    return read.row(values) if values is not None else None


async def first_row_async(
    pool: AsyncReadPool, read: PostgresRead, values: Mapping[str, Any]
) -> Row | None:
    """The statement's first row, or None; on the event loop.

    Like `first_row`, a connection that died in the pool (a server restart) costs one more
    attempt on a new connection, after every idle one is closed; so does a statement the
    server lost or can no longer run as prepared, since the other idle connections prepared
    it too. A database that cannot be reached, a pool that stays busy, or a statement lost
    again on a new connection is SERVICE_UNAVAILABLE (503), as on the request pool.
    """
    bound = read.parameters(values)
    try:
        try:
            return await _read(pool, read, bound)
        except (_ConnectionDiedError, _PreparedStatementLostError):
            pool.close()
        return await _read(pool, read, bound)
    except _PreparedStatementLostError as error:
        logger.error(
            "database unavailable: prepared statement lost twice (%s); behind PgBouncer older "
            "than 1.21 or without max_prepared_statements, set DB_PREPARED_STATEMENTS=false",
            type(error.__cause__).__name__,
        )
        raise ServiceUnavailableError() from error
    except (psycopg.OperationalError, ReadPoolTimeoutError, _ConnectionDiedError) as error:
        logger.warning("database unavailable: %s", type(error).__name__)
        raise ServiceUnavailableError() from error
