"""Engine, session factory and the `get_db` request dependency.

One `Database` is built per application (kept on `app.state.database`), so a test process can
run apps against SQLite and PostgreSQL side by side. Sessions never commit on their own: the
service layer decides when a unit of work commits (see F_RepositoryPackage.unit_of_work).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from A_DatabasePackage.async_read_pool import AsyncReadPool, conninfo_from_url
from A_DatabasePackage.postgres_connections import (
    POOL_RECYCLE_SECONDS,
    POOL_TIMEOUT_SECONDS,
    POSTGRES_CONNECT_ARGS,
)

SQLITE_BUSY_TIMEOUT_SECONDS = 15


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def unicode_lower(value: str | None) -> str | None:
    """Lower-case every character that has a one-character lower case, as PostgreSQL's lower()
    does; SQLite's built-in lower() folds only ASCII, which made `Élise@...` and `élise@...`
    two accounts and refused the sign-in of either in the other case."""
    if value is None:
        return None
    return "".join(lowered if len(lowered := char.lower()) == 1 else char for char in value)


def _register_unicode_lower(dbapi_connection: Any, _record: Any) -> None:
    # Replaces the built-in for this connection; deterministic, so the unique indexes on
    # lower(username) and lower(email) use it (migration 0004 rebuilt them with it).
    dbapi_connection.create_function("lower", 1, unicode_lower, deterministic=True)


def prepare_sqlite_engine(engine: Engine) -> Engine:
    """Every SQLite connection: foreign keys, WAL and the Unicode-aware lower()."""
    event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    event.listen(engine, "connect", _register_unicode_lower)
    return engine


def build_engine(
    url: URL,
    pool_size: int = 10,
    max_overflow: int = 10,
    *,
    autocommit: bool = False,
) -> Engine:
    """An engine with bounded pools, timeouts and parameters hidden from error messages.

    `hide_parameters` keeps bound values (password hashes included) out of exception text,
    so an error that reaches a log never carries them. On PostgreSQL each process holds at
    most `pool_size + max_overflow` connections, waits at most POOL_TIMEOUT_SECONDS for one,
    checks a pooled connection before use (so a restarted server is reconnected to, not
    failed on), and gives up connecting after POSTGRES_CONNECT_TIMEOUT_SECONDS; TCP
    keepalives notice a server that vanished without closing the connection.

    `autocommit` (PostgreSQL only) is the engine of a sign-in's account lookup: each
    connection commits every statement by itself (set once, when it connects), and it is not
    pinged before use, which would double the round trips of a read; a read runs again on a
    fresh connection when a pooled one turns out dead (F_RepositoryPackage.read_side).
    """
    if url.get_backend_name() == "sqlite":
        in_memory = url.database in (None, "", ":memory:")
        return prepare_sqlite_engine(
            create_engine(
                url,
                hide_parameters=True,
                connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                # A file's pool is sized like PostgreSQL's: connections beyond the pool are
                # closed on return, and opening one again re-runs the connect set-up.
                **({} if in_memory else {"pool_size": pool_size, "max_overflow": max_overflow}),
            )
        )
    return create_engine(
        url,
        hide_parameters=True,
        # An autocommit connection has no transaction to roll back when it is given back.
        **(
            {"isolation_level": "AUTOCOMMIT", "pool_reset_on_return": None}
            if autocommit
            else {"pool_pre_ping": True}
        ),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        pool_recycle=POOL_RECYCLE_SECONDS,
        connect_args=POSTGRES_CONNECT_ARGS,
    )


def read_pool_size(pool_size: int) -> int:
    """Connections of each read pool on PostgreSQL (the sign-in's account lookup on psycopg2,
    the access-token check on psycopg 3), on top of the request pool: half of DB_POOL_SIZE, at
    least one. A read holds one for a single statement."""
    return max(1, pool_size // 2)


class Database:
    """An engine and its session factory; on PostgreSQL also a small engine for reads and a
    small pool of async connections for the access-token check (async_read_pool), which
    prepares its statements on the server unless `prepare_statements` is false."""

    def __init__(
        self,
        url: URL,
        pool_size: int = 10,
        max_overflow: int = 10,
        *,
        prepare_statements: bool = True,
    ) -> None:
        self.url = url
        self.engine = build_engine(url, pool_size, max_overflow)
        self.session_factory = sessionmaker(
            bind=self.engine, autoflush=False, expire_on_commit=False
        )
        # SQLite's driver opens no transaction for a SELECT. PostgreSQL's would BEGIN one, and
        # switching a pooled connection to autocommit and back on every check costs more than
        # the query, so the reads have a small pool of autocommit connections of their own.
        self.read_engine = (
            self.engine
            if self.is_sqlite
            else build_engine(url, read_pool_size(pool_size), 0, autocommit=True)
        )
        self.async_read_pool = (
            None
            if self.is_sqlite
            else AsyncReadPool(
                conninfo_from_url(url),
                read_pool_size(pool_size),
                prepare_statements=prepare_statements,
            )
        )

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def session(self) -> Session:
        return self.session_factory()

    def read_connection(self) -> Connection:
        """A pooled connection for statements that only read (a sign-in's account lookup; on
        SQLite the access-token check too) that holds no transaction open:
        PostgreSQL is spared the BEGIN and ROLLBACK round trips around each read. Close it (a
        `with` block) after use."""
        return self.read_engine.connect()

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
        if self.async_read_pool is not None:
            self.async_read_pool.close()


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One session per request; rolled back and closed when the request ends.

    Opening a session does no I/O (it connects on first use), so this runs on the event loop.
    The units of work give their connection back when they end; only a session still in a
    transaction needs the rollback's round trip, and that one is made in a worker thread.
    """
    session = (await get_database(request)).session()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()
