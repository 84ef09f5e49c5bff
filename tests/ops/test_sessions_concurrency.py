"""Eight refreshes racing with the same refresh token on PostgreSQL: exactly one wins, the
others are refused as reuse (or, once the session has ended, as invalid), never a 5xx and
never two valid children.

The race runs over real HTTP against a uvicorn subprocess (tests/live_server.py), each
racer on its own connection, released together by a barrier; and again in-process, with one
TestClient per racer on one application (there on SQLite as well). Several rounds each.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from A_DatabasePackage.database import Database
from B_EntityPackage.session_entities import AuthSession, RefreshToken
from I_ControllerPackage.app_factory import create_app
from tests.live_server import PROJECT_ROOT, live_server, settings_env
from tests.session_support import (
    assert_access_ended,
    assert_refresh_invalid,
    refresh,
    session_id_of,
    sign_in,
)
from tests.support import STRONG_PASSWORD, make_settings, register

RACERS = 8
ROUNDS = 5
PG_BACKENDS = pytest.mark.backends("postgresql", "postgresql+redis")

Refresher = Callable[[int, str], httpx.Response]


def race(refresher: Refresher, token: str) -> list[httpx.Response]:
    barrier = threading.Barrier(RACERS)

    def one(index: int) -> httpx.Response:
        barrier.wait(timeout=30)
        return refresher(index, token)

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        return list(pool.map(one, range(RACERS)))


def unspent_in_session(database_url: str, session_id: int) -> tuple[int, bool]:
    """(unspent refresh tokens, whether the session has ended)."""
    database = Database(make_url(database_url))
    try:
        with database.session() as session:
            unspent = session.scalar(
                select(func.count())
                .select_from(RefreshToken)
                .where(RefreshToken.session_id == session_id, RefreshToken.spent_at.is_(None))
            )
            auth_session = session.get(AuthSession, session_id)
            assert auth_session is not None
            return unspent or 0, auth_session.ended_at is not None
    finally:
        database.dispose()


def check_round(
    client: TestClient | httpx.Client,
    responses: list[httpx.Response],
    database_url: str,
    session_id: int,
) -> None:
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [401] * (RACERS - 1), [r.text for r in responses]
    losers = [r for r in responses if r.status_code == 401]
    codes = {r.json()["code"] for r in losers}
    assert codes <= {"REFRESH_TOKEN_REUSED", "INVALID_REFRESH_TOKEN"}, codes
    # The first loser to get past the winner's lock sees a spent token: that is reuse.
    assert "REFRESH_TOKEN_REUSED" in codes
    for loser in losers:
        assert loser.headers["www-authenticate"].startswith("Bearer")
    winner: dict[str, Any] = next(r for r in responses if r.status_code == 200).json()
    assert session_id_of(winner["access_token"]) == session_id
    # The losers count as reuse, so the session ended with the winner's child in it.
    unspent, ended = unspent_in_session(database_url, session_id)
    assert unspent <= 1
    assert ended
    assert_refresh_invalid(client, winner["refresh_token"])
    assert_access_ended(client, winner["access_token"])
    assert unspent_in_session(database_url, session_id)[0] <= 1


@PG_BACKENDS
def test_racing_refreshes_over_http_have_one_winner(
    database_url: str, backend_redis_url: str | None, tmp_path: Path
) -> None:
    extra = {"REDIS_URL": backend_redis_url} if backend_redis_url else {}
    env = settings_env(database_url, **extra)
    with live_server(env, PROJECT_ROOT, tmp_path) as server:
        clients = [server.client() for _ in range(RACERS)]
        try:
            for racer in clients:
                assert racer.get("/healthz").status_code == 200  # connections open
            account = {"username": "alice", "email": "a@example.com", "password": STRONG_PASSWORD}
            assert clients[0].post("/register", json=account).status_code == 201
            for _ in range(ROUNDS):
                tokens = sign_in(clients[0])
                responses = race(lambda i, t: refresh(clients[i], t), tokens["refresh_token"])
                check_round(
                    clients[0], responses, database_url, session_id_of(tokens["access_token"])
                )
        finally:
            for racer in clients:
                racer.close()
        assert "Traceback" not in server.output()


@pytest.mark.backends("sqlite", "postgresql", "postgresql+redis")
def test_racing_refreshes_in_process_have_one_winner(
    database_url: str, backend_redis_url: str | None
) -> None:
    app = create_app(make_settings(database_url, REDIS_URL=backend_redis_url))
    # Only the first client runs the start-up (migrations); the others just send requests,
    # each through its own event-loop thread into the shared thread pool.
    clients = [TestClient(app) for _ in range(RACERS)]
    with clients[0]:
        register(clients[0])
        for _ in range(ROUNDS):
            tokens = sign_in(clients[0])
            responses = race(lambda i, t: refresh(clients[i], t), tokens["refresh_token"])
            check_round(clients[0], responses, database_url, session_id_of(tokens["access_token"]))
