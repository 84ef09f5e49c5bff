"""Engine, session factory and the `get_db` request dependency.

One `Database` is built per application (kept on `app.state.database`), so a test process can
run apps against SQLite and PostgreSQL side by side. Sessions never commit on their own: the
service layer decides when a unit of work commits (see F_RepositoryPackage.unit_of_work).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_SECONDS = 15
POSTGRES_CONNECT_TIMEOUT_SECONDS = 5
POOL_TIMEOUT_SECONDS = 10
# A pooled PostgreSQL connection idle for longer than this is pinged before it is used.
POOL_PING_AFTER_IDLE_SECONDS = 1.0
_CHECKED_IN_AT = "auth_service_checked_in_at"


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


def ping_connections_idle_for(engine: Engine, seconds: float) -> Engine:
    """Check a pooled connection before use when it has been idle for more than `seconds`.

    Connections die while they sit idle in the pool (a restarted or failed-over server, a
    proxy's idle timeout); a dead one is replaced before use, not failed on. A connection that
    was in use moments ago is not checked, which spares a busy service one round trip per
    checkout (`pool_pre_ping` pings every time). If the server restarts within that moment,
    the first statement on such a connection fails; SQLAlchemy then replaces every connection
    of the pool opened before the failure, and the read-only token check retries once
    (F_RepositoryPackage.access_token_reader).
    """

    def remember_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get(_CHECKED_IN_AT)
        if checked_in_at is None or time.monotonic() - checked_in_at <= seconds:
            return
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError("the pooled connection is gone") from error

    event.listen(engine, "checkin", remember_checkin)
    event.listen(engine, "checkout", ping_if_idle)
    return engine


def build_engine(
    url: URL,
    pool_size: int = 10,
    max_overflow: int = 10,
    ping_after_idle_seconds: float = POOL_PING_AFTER_IDLE_SECONDS,
) -> Engine:
    """An engine with bounded pools, timeouts and parameters hidden from error messages.

    `hide_parameters` keeps bound values (password hashes included) out of exception text,
    so an error that reaches a log never carries them. On PostgreSQL each process holds at
    most `pool_size + max_overflow` connections, waits at most POOL_TIMEOUT_SECONDS for one,
    checks a pooled connection that sat idle before use (`ping_connections_idle_for`: a
    restarted server is reconnected to, not failed on), and gives up connecting after
    POSTGRES_CONNECT_TIMEOUT_SECONDS; TCP
    keepalives notice a server that vanished without closing the connection.
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
    engine = create_engine(
        url,
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS,
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        },
    )
    return ping_connections_idle_for(engine, ping_after_idle_seconds)


class Database:
    """An engine and its session factory."""

    def __init__(
        self,
        url: URL,
        pool_size: int = 10,
        max_overflow: int = 10,
        ping_after_idle_seconds: float = POOL_PING_AFTER_IDLE_SECONDS,
    ) -> None:
        self.url = url
        self.engine = build_engine(url, pool_size, max_overflow, ping_after_idle_seconds)
        self.session_factory = sessionmaker(
            bind=self.engine, autoflush=False, expire_on_commit=False
        )
        # SQLite's driver opens no transaction for a SELECT, and switching a connection to
        # autocommit and back costs more than the query; PostgreSQL's would BEGIN one.
        self.read_engine = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def session(self) -> Session:
        return self.session_factory()

    def read_connection(self) -> Connection:
        """A pooled connection for statements that only read (the access-token check of every
        signed-in request) that holds no transaction open: PostgreSQL is spared the BEGIN and
        ROLLBACK round trips around each check. Close it (a `with` block) after use."""
        return self.read_engine.connect()

    def dispose(self) -> None:
        self.engine.dispose()


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
