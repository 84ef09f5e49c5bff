"""Helpers shared by the tests: settings, a controllable clock and HTTP shortcuts."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from A_DatabasePackage.database import Database
from A_DatabasePackage.settings import Settings
from B_EntityPackage.domain import Clock, SystemClock
from F_RepositoryPackage.token_denylist import SqlAlchemyTokenDenylist
from F_RepositoryPackage.unit_of_work import SqlAlchemyUnitOfWork

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
STRONG_PASSWORD = "correct horse battery staple"
OTHER_STRONG_PASSWORD = "purple monkey dishwasher 42"
# Cheap Argon2 parameters keep the suite fast; tests of the real parameters set their own.
FAST_ARGON2 = {"ARGON2_MEMORY_KIB": 1024, "ARGON2_TIME_COST": 1, "ARGON2_PARALLELISM": 1}
# Where the apps of tests without an SMTP server write their mail (registration mails a
# verification link), instead of the checkout's ./mail; removed when the run ends.
TEST_MAIL_DIR = tempfile.mkdtemp(prefix="auth-service-test-mail-")
atexit.register(shutil.rmtree, TEST_MAIL_DIR, True)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET_KEY,
        "APP_ENV": "test",
        "MAIL_DIR": TEST_MAIL_DIR,
        **FAST_ARGON2,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@dataclass
class FakeClock:
    """Real time plus an offset the test can move forward."""

    offset: timedelta = field(default_factory=timedelta)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@dataclass
class FixedClock:
    """A clock that stays at `moment` until the test moves it."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment


def register(
    client: TestClient,
    username: str = "alice",
    email: str | None = None,
    password: str = STRONG_PASSWORD,
    **extra: Any,
) -> dict[str, Any]:
    response = client.post(
        "/register",
        json={
            "username": username,
            "email": email or f"{username}@example.com",
            "password": password,
            **extra,
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def login(client: TestClient, username: str = "alice", password: str = STRONG_PASSWORD) -> str:
    response = client.post("/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def checked_out(database: Database) -> int:
    """Connections of the database's pool in use right now."""
    return int(database.engine.pool.checkedout())  # type: ignore[attr-defined]


def sql_unit_of_work(database: Database, clock: Clock | None = None) -> SqlAlchemyUnitOfWork:
    """A unit of work on `database` whose ended-token store is the database's own table."""
    time_source = clock or SystemClock()
    return SqlAlchemyUnitOfWork(
        database.session_factory, lambda session: SqlAlchemyTokenDenylist(session, time_source)
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def user_count(database: Database) -> int:
    """How many accounts the database holds, read through the repository."""
    with sql_unit_of_work(database) as uow:
        return uow.users.count()
