"""The first admin: BOOTSTRAP_ADMIN_* at start-up, and `python -m scripts.manage create-admin`.

Both run on SQLite and PostgreSQL (the `database_url` fixture: migrated and empty).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from A_DatabasePackage.database import Database
from A_DatabasePackage.settings import Settings
from B_EntityPackage.login_entity_master import User
from I_ControllerPackage.app_factory import create_app
from tests.support import STRONG_PASSWORD, TEST_SECRET_KEY, FakeClock, bearer, login, make_settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SETTING_KEYS = (*Settings.model_fields, "DATABASE_URL", "AUTO_MIGRATE")
BOOTSTRAP = {
    "BOOTSTRAP_ADMIN_USERNAME": "root",
    "BOOTSTRAP_ADMIN_EMAIL": "root@example.com",
    "BOOTSTRAP_ADMIN_PASSWORD": STRONG_PASSWORD,
}


def stored_users(database_url: str) -> list[tuple[str, str, str]]:
    database = Database(make_url(database_url))
    try:
        with database.session() as session:
            rows = session.execute(select(User.username, User.email, User.role).order_by(User.id))
            return [(row.username, row.email, row.role) for row in rows]
    finally:
        database.dispose()


def user_count(database_url: str) -> int:
    database = Database(make_url(database_url))
    try:
        with database.session() as session:
            return int(session.scalar(select(func.count()).select_from(User)) or 0)
    finally:
        database.dispose()


def started_client(database_url: str, **overrides: Any) -> TestClient:
    return TestClient(create_app(make_settings(database_url, **overrides), clock=FakeClock()))


def listed_users(client: TestClient, username: str) -> dict[str, Any]:
    token = login(client, username)
    response = client.get("/users", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- bootstrap admin --------------------------------------------------------------------------


def test_bootstrap_admin_is_created_once(database_url: str) -> None:
    with started_client(database_url, **BOOTSTRAP) as client:
        page = listed_users(client, "root")
        assert page["total"] == 1
        (admin,) = page["items"]
        assert (admin["username"], admin["email"], admin["role"]) == (
            "root",
            "root@example.com",
            "admin",
        )
        assert admin["is_active"] is True
    with started_client(database_url, **BOOTSTRAP) as client:
        assert listed_users(client, "root@example.com")["total"] == 1
    other = {**BOOTSTRAP, "BOOTSTRAP_ADMIN_USERNAME": "root2", "BOOTSTRAP_ADMIN_EMAIL": "r2@x.io"}
    with started_client(database_url, **other) as client:
        assert client.get("/healthz").status_code == 200
    assert stored_users(database_url) == [("root", "root@example.com", "admin")]


def test_bootstrap_admin_not_created_when_an_admin_exists(database_url: str) -> None:
    with started_client(database_url, **BOOTSTRAP):
        pass
    renamed = {**BOOTSTRAP, "BOOTSTRAP_ADMIN_USERNAME": "boss", "BOOTSTRAP_ADMIN_EMAIL": "b@x.io"}
    with started_client(database_url, **renamed) as client:
        response = client.post("/login", json={"username": "boss", "password": STRONG_PASSWORD})
        assert response.status_code == 401
        assert response.json()["code"] == "INVALID_CREDENTIALS"
    assert user_count(database_url) == 1


@pytest.mark.parametrize("missing", sorted(BOOTSTRAP))
def test_bootstrap_needs_all_three_settings(database_url: str, missing: str) -> None:
    partial = {key: value for key, value in BOOTSTRAP.items() if key != missing}
    with started_client(database_url, **partial) as client:
        response = client.post("/login", json={"username": "root", "password": STRONG_PASSWORD})
        assert response.status_code == 401
        assert response.json()["code"] == "INVALID_CREDENTIALS"
    assert user_count(database_url) == 0


def test_invalid_bootstrap_email_stops_start_up(database_url: str) -> None:
    with pytest.raises(ValidationError):
        create_app(make_settings(database_url, **{**BOOTSTRAP, "BOOTSTRAP_ADMIN_EMAIL": "nope"}))
    assert user_count(database_url) == 0


# --- the command line -------------------------------------------------------------------------


def run_manage(
    database_url: str, *arguments: str, password: str
) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key not in SETTING_KEYS}
    environment.update(DATABASE_URL=database_url, SECRET_KEY=TEST_SECRET_KEY, APP_ENV="test")
    return subprocess.run(
        [sys.executable, "-m", "scripts.manage", "create-admin", *arguments, "--password-stdin"],
        cwd=PROJECT_ROOT,
        env=environment,
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_creates_an_admin_who_can_sign_in(database_url: str) -> None:
    result = run_manage(
        database_url, "--username", "root1", "--email", "r@example.com", password=STRONG_PASSWORD
    )
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert (created["username"], created["email"], created["role"]) == (
        "root1",
        "r@example.com",
        "admin",
    )
    assert created["is_active"] is True
    assert isinstance(created["id"], int)
    assert STRONG_PASSWORD not in result.stdout + result.stderr
    assert "hashed_password" not in created
    with started_client(database_url) as client:
        page = listed_users(client, "root1")
        assert [user["id"] for user in page["items"]] == [created["id"]]
        assert page["items"][0]["role"] == "admin"
    # the same name again is refused
    again = run_manage(
        database_url, "--username", "ROOT1", "--email", "r2@example.com", password=STRONG_PASSWORD
    )
    assert again.returncode == 1
    assert "USERNAME_TAKEN" in again.stderr
    assert user_count(database_url) == 1


def test_cli_refuses_a_weak_password(database_url: str) -> None:
    result = run_manage(
        database_url, "--username", "root1", "--email", "r@example.com", password="1qaz2wsx3edc"
    )
    assert result.returncode != 0
    assert "WEAK_PASSWORD" in result.stderr
    assert "1qaz2wsx3edc" not in result.stderr + result.stdout
    assert result.stdout == ""
    assert user_count(database_url) == 0


def test_cli_refuses_an_invalid_email(database_url: str) -> None:
    result = run_manage(
        database_url, "--username", "root1", "--email", "not-an-email", password=STRONG_PASSWORD
    )
    assert result.returncode == 2
    assert "email" in result.stderr
    assert STRONG_PASSWORD not in result.stderr
    assert result.stdout == ""
    assert user_count(database_url) == 0
