"""Migrations: `alembic upgrade head` by hand, concurrent start-up migrations, AUTO_MIGRATE=false.

Each test works on a database of its own that starts with no tables: a temporary SQLite file, or
a PostgreSQL database created for the test (next to the session's one) and dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from A_DatabasePackage.database import Database
from A_DatabasePackage.migrations_runner import alembic_config, upgrade_to_head
from A_DatabasePackage.settings import Settings
from I_ControllerPackage.app_factory import create_app
from tests.support import TEST_SECRET_KEY, make_settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_POSTGRES_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
SETTING_KEYS = (*Settings.model_fields, "DATABASE_URL", "AUTO_MIGRATE")
HEAD_TABLES = {
    "users",
    "auth_sessions",
    "refresh_tokens",
    "session_access_tokens",
    "revoked_access_tokens",
    "audit_events",
    "signing_keys",
    "alembic_version",
}


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with no tables at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    request.getfixturevalue("postgres_url")  # skips (or fails under CI) without PostgreSQL
    admin_url = make_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES_URL))
    name = f"auth_fresh_{os.getpid()}_{secrets.token_hex(4)}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def alembic_versions(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [
                row[0]
                for row in connection.execute(text("SELECT version_num FROM alembic_version"))
            ]
    finally:
        engine.dispose()


INSERT_USER = text(
    "INSERT INTO users (username, email, hashed_password, role, is_active, token_version, "
    "created_at, updated_at) VALUES (:username, :email, 'x', 'user', true, 0, :now, :now)"
)


def insert_user(url: str, username: str, email: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                INSERT_USER, {"username": username, "email": email, "now": datetime.now(UTC)}
            )
    finally:
        engine.dispose()


def assert_case_insensitive_unique_indexes(url: str) -> None:
    insert_user(url, "Alice", "Alice@example.com")
    with pytest.raises(IntegrityError, match=r"uq_users_username_lower|lower\(username\)"):
        insert_user(url, "alice", "other@example.com")
    with pytest.raises(IntegrityError, match=r"uq_users_email_lower|lower\(email\)"):
        insert_user(url, "bob", "ALICE@example.com")


def clean_environment(**values: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key not in SETTING_KEYS}
    return {**environment, **values}


def run_alembic(url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alembic", *arguments],
        cwd=PROJECT_ROOT,
        env=clean_environment(DATABASE_URL=url, SECRET_KEY=TEST_SECRET_KEY, APP_ENV="test"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_alembic_upgrade_head_by_hand(fresh_url: str) -> None:
    assert table_names(fresh_url) == set()
    result = run_alembic(fresh_url, "upgrade", "head")
    assert result.returncode == 0, result.stderr
    assert table_names(fresh_url) == HEAD_TABLES
    assert alembic_versions(fresh_url) == [head_revision()]
    assert_case_insensitive_unique_indexes(fresh_url)
    # again: nothing to do, still fine
    again = run_alembic(fresh_url, "upgrade", "head")
    assert again.returncode == 0, again.stderr
    assert alembic_versions(fresh_url) == [head_revision()]
    # one step back removes only the session tables, and forward again restores them
    back = run_alembic(fresh_url, "downgrade", "0001_create_users")
    assert back.returncode == 0, back.stderr
    assert table_names(fresh_url) == {"users", "alembic_version"}
    assert alembic_versions(fresh_url) == ["0001_create_users"]
    forward = run_alembic(fresh_url, "upgrade", "head")
    assert forward.returncode == 0, forward.stderr
    assert table_names(fresh_url) == HEAD_TABLES
    # and the way back works too
    down = run_alembic(fresh_url, "downgrade", "base")
    assert down.returncode == 0, down.stderr
    assert table_names(fresh_url) == {"alembic_version"}
    assert alembic_versions(fresh_url) == []


def test_concurrent_upgrades_do_not_fail(fresh_url: str) -> None:
    workers = 4
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []
    finished: list[int] = []
    lock = threading.Lock()

    def migrate(index: int) -> None:
        database = Database(make_url(fresh_url))
        try:
            barrier.wait()
            upgrade_to_head(database)
            with lock:
                finished.append(index)
        except BaseException as error:
            with lock:
                errors.append(error)
        finally:
            database.dispose()

    threads = [threading.Thread(target=migrate, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(finished) == list(range(workers))
    assert alembic_versions(fresh_url) == [head_revision()]
    assert table_names(fresh_url) == HEAD_TABLES


def test_startup_migrates_by_default(fresh_url: str) -> None:
    with TestClient(create_app(make_settings(fresh_url))) as client:
        assert client.get("/healthz").status_code == 200
        response = client.post(
            "/register",
            json={
                "username": "alice",
                "email": "alice@example.com",
                "password": "correct horse battery staple",
            },
        )
        assert response.status_code == 201, response.text
    assert alembic_versions(fresh_url) == [head_revision()]


def test_auto_migrate_false_leaves_an_empty_database_untouched(fresh_url: str) -> None:
    app = create_app(make_settings(fresh_url, AUTO_MIGRATE=False))
    with TestClient(app) as client:
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
    assert table_names(fresh_url) == set()
