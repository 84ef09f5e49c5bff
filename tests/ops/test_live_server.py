"""The service as production runs it: `uvicorn I_ControllerPackage.logic_controller:app`.

Each test starts a real uvicorn process (see tests/live_server.py) configured by environment
variables only, and talks to it over real HTTP with httpx.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from jose import jwt
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from A_DatabasePackage.database import Database
from B_EntityPackage.login_entity_master import User
from tests.live_server import (
    PROJECT_ROOT,
    LiveServer,
    live_server,
    run_expecting_exit,
    server_env,
    settings_env,
)
from tests.support import FAST_ARGON2, STRONG_PASSWORD, TEST_SECRET_KEY

RACERS = 10


def _assert_one_winner(
    server: LiveServer, responses: list[httpx.Response], loser_code: str
) -> dict[str, Any]:
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * (RACERS - 1), [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert response.json()["code"] == loser_code
            assert set(response.json()) == {"detail", "code"}
    assert "Traceback" not in server.output()
    winner: dict[str, Any] = next(r for r in responses if r.status_code == 201).json()
    return winner


def _count_users(database_url: str) -> int:
    database = Database(make_url(database_url))
    try:
        with database.session() as session:
            return session.scalar(select(func.count()).select_from(User)) or 0
    finally:
        database.dispose()


def test_same_username_race_over_http_has_one_winner(database_url: str, tmp_path: Path) -> None:
    bodies = [
        {"username": "racer", "email": f"racer{i}@example.com", "password": STRONG_PASSWORD}
        for i in range(RACERS)
    ]
    with live_server(settings_env(database_url), PROJECT_ROOT, tmp_path) as server:
        winner = _assert_one_winner(server, server.race("/register", bodies), "USERNAME_TAKEN")
        assert winner["username"] == "racer"
        with server.client() as client:
            token = client.post(
                "/login", json={"username": "racer", "password": STRONG_PASSWORD}
            ).json()["access_token"]
            me = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["email"] == winner["email"]
    assert _count_users(database_url) == 1


def test_same_email_in_other_cases_race_over_http_has_one_winner(
    database_url: str, tmp_path: Path
) -> None:
    emails = [
        "Racer@Example.com",
        "racer@example.com",
        "RACER@EXAMPLE.COM",
        "rAcEr@eXaMpLe.CoM",
        "Racer@example.COM",
        "racer@EXAMPLE.com",
        "RACER@example.com",
        "racER@Example.Com",
        "RAcer@exAMPLE.com",
        "raceR@examplE.coM",
    ]
    bodies = [
        {"username": f"racer{i}", "email": email, "password": STRONG_PASSWORD}
        for i, email in enumerate(emails)
    ]
    with live_server(settings_env(database_url), PROJECT_ROOT, tmp_path) as server:
        winner = _assert_one_winner(server, server.race("/register", bodies), "EMAIL_TAKEN")
    assert winner["email"].lower() == "racer@example.com"
    assert _count_users(database_url) == 1


def test_same_username_in_other_cases_race_over_http_has_one_winner(
    database_url: str, tmp_path: Path
) -> None:
    names = [
        "Racer",
        "racer",
        "RACER",
        "rAcEr",
        "RaCeR",
        "raceR",
        "RAcer",
        "racER",
        "rACER",
        "Racer",
    ]
    bodies = [
        {"username": name, "email": f"racer{i}@example.com", "password": STRONG_PASSWORD}
        for i, name in enumerate(names)
    ]
    with live_server(settings_env(database_url), PROJECT_ROOT, tmp_path) as server:
        winner = _assert_one_winner(server, server.race("/register", bodies), "USERNAME_TAKEN")
    assert winner["username"] in names
    assert _count_users(database_url) == 1


def test_uvicorn_starts_from_project_root_with_only_env_vars(tmp_path: Path) -> None:
    db_file = tmp_path / "auth.db"
    env = server_env(DATABASE_URL=f"sqlite:///{db_file}", SECRET_KEY=TEST_SECRET_KEY)
    with live_server(env, PROJECT_ROOT, tmp_path / "logs") as server, server.client() as client:
        health = client.get("/healthz")
        docs = client.get("/docs")
        schema = client.get("/openapi.json")
        created = client.post(
            "/register",
            json={"username": "alice", "email": "alice@example.com", "password": STRONG_PASSWORD},
        )
        login = client.post("/login", data={"username": "alice", "password": STRONG_PASSWORD})
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle" in docs.text
    assert schema.status_code == 200
    assert "/register" in schema.json()["paths"]
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/users/{created.json()['id']}"
    assert login.status_code == 200, login.text
    assert login.json()["token_type"] == "bearer"
    # The default (OWASP) Argon2id parameters were used, and migrations ran at start-up.
    assert db_file.is_file()
    assert not (tmp_path / "auth.db.secret_key").exists()


@pytest.mark.parametrize(
    ("app_env", "secret_key"),
    [("production", None), ("production", "short12345"), ("development", "short12345")],
)
def test_server_refuses_to_start_without_a_usable_secret_key(
    tmp_path: Path, app_env: str, secret_key: str | None
) -> None:
    values = {"APP_ENV": app_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'auth.db'}"}
    if secret_key is not None:
        values["SECRET_KEY"] = secret_key
    # Run outside the project root so a developer's .env cannot supply a key.
    code, stderr = run_expecting_exit(server_env(**values), tmp_path, tmp_path / "logs")
    assert code is not None, "the server started although it must refuse to"
    assert code != 0
    assert "SECRET_KEY" in stderr
    if secret_key is not None:
        assert secret_key not in stderr  # the rejected secret is never echoed
    assert not (tmp_path / "auth.db.secret_key").exists()


def test_development_key_is_generated_beside_the_database_and_survives_restart(
    tmp_path: Path,
) -> None:
    db_file = tmp_path / "data" / "auth.db"
    env = server_env(
        APP_ENV="development",
        DATABASE_URL=f"sqlite:///{db_file}",
        **{key: str(value) for key, value in FAST_ARGON2.items()},
    )
    key_file = tmp_path / "data" / "auth.db.secret_key"
    with live_server(env, tmp_path, tmp_path / "logs") as server, server.client() as client:
        created = client.post(
            "/register",
            json={"username": "alice", "email": "alice@example.com", "password": STRONG_PASSWORD},
        )
        token = client.post(
            "/login", json={"username": "alice", "password": STRONG_PASSWORD}
        ).json()["access_token"]
    assert created.status_code == 201, created.text
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text(encoding="utf-8").strip()
    assert len(key) >= 32
    assert not (tmp_path / "auth.secret_key").exists()
    # The token is signed with the generated key, not some other default.
    claims = jwt.decode(token, key, algorithms=["HS256"], audience="auth-service")
    assert claims["sub"] == str(created.json()["id"])

    with live_server(env, tmp_path, tmp_path / "logs") as server, server.client() as client:
        me = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        forged = jwt.encode({**claims, "jti": "forged"}, "x" * 40, algorithm="HS256")
        rejected = client.get("/users/me", headers={"Authorization": f"Bearer {forged}"})
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "alice"
    assert rejected.status_code == 401
    assert rejected.json()["code"] == "INVALID_TOKEN"
    assert key_file.read_text(encoding="utf-8").strip() == key
