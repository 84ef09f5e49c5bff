"""A Redis outage fails closed: every check of an access token, and every attempt to end one,
answers 503 SERVICE_UNAVAILABLE (never a 500, never an ended token accepted), nothing is
half-done in the database, and the service recovers by itself when Redis is back.

The test runs its own throw-away redis-server on a free port (the machine's shared Redis is
never stopped), on PostgreSQL. Without a redis-server binary the test skips, or fails under
CI=true.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from B_EntityPackage.session_entities import AuthSession, RefreshToken, RevokedAccessToken
from I_ControllerPackage.app_factory import create_app
from tests.admin_support import assert_error, me_status
from tests.private_redis import PrivateRedis
from tests.session_support import (
    assert_refresh_invalid,
    assert_token_body,
    refresh,
    refreshed,
    session_id_of,
    sign_in,
)
from tests.support import FakeClock, bearer, make_settings, register

LEAKS = ("Traceback", "redis", "Redis", "Connection", "Error ", "127.0.0.1", ".py")


@pytest.fixture
def outage_app(database_url: str, private_redis: PrivateRedis, clock: FakeClock) -> FastAPI:
    return create_app(make_settings(database_url, REDIS_URL=private_redis.url), clock=clock)


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"detail", "code"}
    assert body["code"] == "SERVICE_UNAVAILABLE"
    for leak in LEAKS:
        assert leak not in response.text, response.text


def database_state(app: FastAPI) -> tuple[list[tuple[int, bool]], list[bool], int]:
    """(id and ended of each session, spent of each refresh token, denied rows)."""
    with app.state.database.session() as session:
        sessions = session.scalars(select(AuthSession).order_by(AuthSession.id)).all()
        tokens = session.scalars(select(RefreshToken).order_by(RefreshToken.id)).all()
        denied = session.scalars(select(RevokedAccessToken)).all()
        return (
            [(s.id, s.ended_at is not None) for s in sessions],
            [t.spent_at is not None for t in tokens],
            len(denied),
        )


@pytest.mark.backends("postgresql")
def test_a_redis_outage_fails_closed_and_recovers(
    outage_app: FastAPI, private_redis: PrivateRedis
) -> None:
    with TestClient(outage_app) as client:
        register(client)
        ended = sign_in(client)
        response = client.post("/logout", headers=bearer(ended["access_token"]))
        assert response.status_code == 204, response.text
        assert_error(
            client.get("/users/me", headers=bearer(ended["access_token"])), 401, "INVALID_TOKEN"
        )
        first = sign_in(client)
        live = refreshed(client, first["refresh_token"])  # first's refresh token is now spent
        assert me_status(client, bearer(live["access_token"])) == 200
        before = database_state(outage_app)

        private_redis.stop()

        assert_unavailable(client.get("/users/me", headers=bearer(live["access_token"])))
        assert_unavailable(client.get("/users/me", headers=bearer(ended["access_token"])))
        assert_unavailable(client.get("/sessions", headers=bearer(live["access_token"])))
        assert_unavailable(client.post("/logout", headers=bearer(live["access_token"])))
        assert_unavailable(client.post("/logout/all", headers=bearer(live["access_token"])))
        assert_unavailable(
            client.delete(
                f"/sessions/{session_id_of(live['access_token'])}",
                headers=bearer(live["access_token"]),
            )
        )
        assert database_state(outage_app) == before
        assert not dict(before[0])[session_id_of(live["access_token"])]

        private_redis.start()  # same port, empty (no persistence)

        fresh = sign_in(client)
        assert me_status(client, bearer(fresh["access_token"])) == 200
        # The failed logout changed nothing: that session still works and can now end.
        assert me_status(client, bearer(live["access_token"])) == 200
        response = client.post("/logout", headers=bearer(live["access_token"]))
        assert response.status_code == 204, response.text
        assert_error(
            client.get("/users/me", headers=bearer(live["access_token"])), 401, "INVALID_TOKEN"
        )
        assert_refresh_invalid(client, live["refresh_token"])
        assert me_status(client, bearer(fresh["access_token"])) == 200
        assert_token_body(refresh(client, fresh["refresh_token"]))


@pytest.mark.backends("postgresql")
def test_reuse_detected_during_an_outage_ends_the_session_for_good(
    outage_app: FastAPI, private_redis: PrivateRedis
) -> None:
    """Revocation never fails open: the session ends in the database although its access
    tokens cannot be written to Redis, and none of its tokens works after Redis is back."""
    with TestClient(outage_app) as client:
        register(client)
        first = sign_in(client)
        second = refreshed(client, first["refresh_token"])
        private_redis.stop()
        assert_error(refresh(client, first["refresh_token"]), 401, "REFRESH_TOKEN_REUSED")
        assert_refresh_invalid(client, second["refresh_token"])
        ended = dict(database_state(outage_app)[0])
        assert ended[session_id_of(second["access_token"])]
        private_redis.start()  # empty: it never heard of the ended tokens
        assert_refresh_invalid(client, second["refresh_token"])
        assert_error(
            client.get("/users/me", headers=bearer(second["access_token"])), 401, "INVALID_TOKEN"
        )
