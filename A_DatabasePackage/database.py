"""The database of the service: one engine (one connection pool) per process and the session
factory the units of work open their sessions from.

Sessions never commit on their own: the service layer decides (F_RepositoryPackage.unit_of_work).
PostgreSQL is reached through psycopg2; SQLite is the embedded default.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_SECONDS = 15
POSTGRES_CONNECT_TIMEOUT_SECONDS = 5
POOL_TIMEOUT_SECONDS = 10  # the longest a request waits for a pooled connection
POOL_RECYCLE_SECONDS = 1800  # a connection older than this is replaced before use

# libpq parameters: give up connecting after the timeout; TCP keepalives notice a server that
# vanished without closing the connection.
POSTGRES_CONNECT_ARGS: dict[str, Any] = {
    "connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def unicode_lower(value: str | None) -> str | None:
    """Lower-case every character that has a one-character lower case, as PostgreSQL's lower()
    does (SQLite's built-in lower() folds only ASCII)."""
    if value is None:
        return None
    return "".join(lowered if len(lowered := char.lower()) == 1 else char for char in value)


def _register_unicode_lower(dbapi_connection: Any, _record: Any) -> None:
    # Deterministic, so the unique indexes on lower(username) and lower(email) use it.
    dbapi_connection.create_function("lower", 1, unicode_lower, deterministic=True)


def prepare_sqlite_engine(engine: Engine) -> Engine:
    """Every SQLite connection: foreign keys, WAL and the Unicode-aware lower()."""
    event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    event.listen(engine, "connect", _register_unicode_lower)
    return engine


def build_engine(url: URL, pool_size: int = 10, max_overflow: int = 10) -> Engine:
    """An engine with a bounded pool, timeouts, and bound values hidden from error messages
    (`hide_parameters`), so no error or log line carries a password hash.

    On PostgreSQL a pooled connection is checked before use, so a restarted server is
    reconnected to rather than failed on.
    """
    if url.get_backend_name() == "sqlite":
        in_memory = url.database in (None, "", ":memory:")
        return prepare_sqlite_engine(
            create_engine(
                url,
                hide_parameters=True,
                connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                **({} if in_memory else {"pool_size": pool_size, "max_overflow": max_overflow}),
            )
        )
    return create_engine(
        url,
        hide_parameters=True,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        pool_recycle=POOL_RECYCLE_SECONDS,
        connect_args=POSTGRES_CONNECT_ARGS,
    )


class Database:
    """An engine and its session factory, one per application."""

    def __init__(self, url: URL, pool_size: int = 10, max_overflow: int = 10) -> None:
        self.url = url
        self.engine = build_engine(url, pool_size, max_overflow)
        self.session_factory = sessionmaker(
            bind=self.engine, autoflush=False, expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def session(self) -> Session:
        return self.session_factory()

    def ping(self) -> None:
        """Run `SELECT 1`; raises when the database does not answer."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
