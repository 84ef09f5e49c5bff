"""Apply the Alembic migrations, safely when several workers start at once.

PostgreSQL: a session-level advisory lock serialises the workers; the first migrates and the
rest find the schema at head. SQLite: an exclusive file lock beside the database does the same.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from A_DatabasePackage.database import Database

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATION_LOCK_KEY = 7_240_113_001  # any constant shared by every worker of this service


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["configure_logging"] = False
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextmanager
def _sqlite_file_lock(database: Database) -> Iterator[None]:
    path = database.url.database
    if not path or path == ":memory:":
        yield
        return
    lock_path = Path(path).with_name(Path(path).name + ".migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def startup_lock(database: Database) -> Iterator[Connection]:
    """Held by one starting worker at a time (of every instance): a connection holding
    PostgreSQL's advisory lock, or SQLite's file lock. Start-up work that must happen once
    (migrations, the first signing key) runs under it."""
    if database.is_sqlite:
        with _sqlite_file_lock(database), database.engine.connect() as connection:
            yield connection
        return
    with database.engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        connection.commit()
        try:
            yield connection
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()


def migrate(connection: Connection) -> None:
    """Apply the migrations on `connection` (one holding the start-up lock)."""
    command.upgrade(alembic_config(connection), "head")
    connection.commit()


def upgrade_to_head(database: Database) -> None:
    with startup_lock(database) as connection:
        migrate(connection)
