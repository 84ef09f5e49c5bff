"""POST /logout ends the presented access token and its session; POST /logout/all ends every
session and access token of the account. The ended tokens are remembered in Redis (the
`postgresql+redis` backend) or in the database (the others)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from A_DatabasePackage.database import Database
from B_EntityPackage.session_entities import AuthSession, RevokedAccessToken
from tests.admin_support import assert_error, me_status, unverified_claims
from tests.session_support import (
    assert_access_ended,
    assert_refresh_invalid,
    assert_token_body,
    refresh,
    refreshed,
    session_id_of,
    sign_in,
)
from tests.support import FakeClock, bearer, register

DENIED_PREFIX = "auth:denied-jti:"


@pytest.fixture
def alice(client: TestClient) -> dict[str, Any]:
    return register(client)


def logout(client: TestClient, access_token: str, body: Any = None) -> None:
    if body is None:
        response = client.post("/logout", headers=bearer(access_token))
    else:
        response = client.post("/logout", json=body, headers=bearer(access_token))
    assert response.status_code == 204, response.text
    assert response.content == b""


def revoked_rows(app: FastAPI) -> dict[str, datetime]:
    with app.state.database.session() as session:
        rows = session.scalars(select(RevokedAccessToken)).all()
        return {row.jti: row.expires_at for row in rows}


def ended_at(app: FastAPI, session_id: int) -> datetime | None:
    database: Database = app.state.database
    with database.session() as session:
        auth_session = session.get(AuthSession, session_id)
        assert auth_session is not None
        return auth_session.ended_at


@pytest.mark.parametrize(
    "body",
    [None, {}, {"refresh_token": None}, "same-session"],
    ids=["no-body", "empty-object", "null-token", "own-refresh-token"],
)
def test_logout_ends_the_token_and_its_session_only(
    client: TestClient, app: FastAPI, alice: dict[str, Any], body: Any
) -> None:
    mine = sign_in(client)
    rotated = refreshed(client, mine["refresh_token"])
    other = sign_in(client)
    if body == "same-session":
        body = {"refresh_token": rotated["refresh_token"]}

    logout(client, rotated["access_token"], body)

    assert_access_ended(client, rotated["access_token"])
    assert_access_ended(client, mine["access_token"])
    assert_refresh_invalid(client, rotated["refresh_token"])
    assert ended_at(app, session_id_of(mine["access_token"])) is not None
    assert ended_at(app, session_id_of(other["access_token"])) is None
    assert me_status(client, bearer(other["access_token"])) == 200
    assert_token_body(refresh(client, other["refresh_token"]))


def test_a_logged_out_token_cannot_log_out_again(client: TestClient, alice: dict[str, Any]) -> None:
    tokens = sign_in(client)
    logout(client, tokens["access_token"])
    response = client.post("/logout", headers=bearer(tokens["access_token"]))
    assert_error(response, 401, "INVALID_TOKEN")


def test_logout_ignores_another_accounts_refresh_token(
    client: TestClient, alice: dict[str, Any]
) -> None:
    register(client, "bob")
    bob = sign_in(client, "bob")
    mine = sign_in(client)
    logout(client, mine["access_token"], {"refresh_token": bob["refresh_token"]})
    assert_access_ended(client, mine["access_token"])
    assert me_status(client, bearer(bob["access_token"])) == 200
    assert_token_body(refresh(client, bob["refresh_token"]))


def test_logout_needs_a_valid_access_token(client: TestClient, alice: dict[str, Any]) -> None:
    assert_error(client.post("/logout"), 401, "NOT_AUTHENTICATED")
    assert_error(client.post("/logout", headers=bearer("garbage")), 401, "INVALID_TOKEN")
    tokens = sign_in(client)
    # A refresh token is no access token, even in the body of an unauthenticated logout.
    response = client.post("/logout", json={"refresh_token": tokens["refresh_token"]})
    assert_error(response, 401, "NOT_AUTHENTICATED")
    assert me_status(client, bearer(tokens["access_token"])) == 200
    assert_token_body(refresh(client, tokens["refresh_token"]))


@pytest.mark.parametrize(
    "body",
    [{"refresh_token": ""}, {"refresh_token": "a\x00b"}, {"everything": True}, ["x"]],
)
def test_logout_refuses_bad_bodies_and_keeps_the_session(
    client: TestClient, alice: dict[str, Any], body: Any
) -> None:
    tokens = sign_in(client)
    response = client.post("/logout", json=body, headers=bearer(tokens["access_token"]))
    assert_error(response, 422, "VALIDATION_ERROR")
    text = client.post(
        "/logout",
        content=b"refresh_token",
        headers={**bearer(tokens["access_token"]), "Content-Type": "text/plain"},
    )
    assert_error(text, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert me_status(client, bearer(tokens["access_token"])) == 200


def test_logout_all_ends_every_session_and_access_token(
    client: TestClient, app: FastAPI, alice: dict[str, Any]
) -> None:
    register(client, "bob")
    bob = sign_in(client, "bob")
    first = sign_in(client)
    first_rotated = refreshed(client, first["refresh_token"])
    second = sign_in(client, user_agent="phone")
    third = sign_in(client, user_agent="laptop")

    response = client.post("/logout/all", headers=bearer(second["access_token"]))
    assert response.status_code == 204, response.text
    assert response.content == b""

    for tokens in (first, first_rotated, second, third):
        assert_access_ended(client, tokens["access_token"])
    for tokens in (first_rotated, second, third):
        assert_refresh_invalid(client, tokens["refresh_token"])
    assert_refresh_invalid(client, first["refresh_token"])
    for tokens in (first, second, third):
        assert ended_at(app, session_id_of(tokens["access_token"])) is not None
    # Signing in again starts a working session; bob never noticed.
    again = sign_in(client)
    listed = client.get("/sessions", headers=bearer(again["access_token"]))
    assert listed.status_code == 200, listed.text
    assert [s["id"] for s in listed.json()] == [session_id_of(again["access_token"])]
    assert me_status(client, bearer(bob["access_token"])) == 200
    assert_token_body(refresh(client, bob["refresh_token"]))


def test_logout_all_needs_a_valid_access_token(client: TestClient, alice: dict[str, Any]) -> None:
    tokens = sign_in(client)
    assert_error(client.post("/logout/all"), 401, "NOT_AUTHENTICATED")
    assert_error(client.post("/logout/all", headers=bearer("x.y.z")), 401, "INVALID_TOKEN")
    assert me_status(client, bearer(tokens["access_token"])) == 200


def test_the_ended_token_is_remembered_until_it_expires(
    client: TestClient,
    app: FastAPI,
    backend: str,
    backend_redis_url: str | None,
    alice: dict[str, Any],
) -> None:
    tokens = sign_in(client)
    claims = unverified_claims(tokens["access_token"])
    logout(client, tokens["access_token"])
    remaining = claims["exp"] - datetime.now(UTC).timestamp()
    if backend_redis_url is not None:
        assert backend == "postgresql+redis"
        store = redis.Redis.from_url(backend_redis_url)
        try:
            key = DENIED_PREFIX + claims["jti"]
            assert store.exists(key) == 1
            ttl = store.ttl(key)
        finally:
            store.close()
        assert remaining - 5 <= ttl <= remaining + 1, (ttl, remaining)
        assert revoked_rows(app) == {}
    else:
        assert backend in ("sqlite", "postgresql")
        rows = revoked_rows(app)
        assert set(rows) == {claims["jti"]}
        assert rows[claims["jti"]] == datetime.fromtimestamp(claims["exp"], UTC)
    assert_access_ended(client, tokens["access_token"])


def test_expired_denylist_rows_are_cleaned_up(
    client: TestClient,
    app: FastAPI,
    clock: FakeClock,
    backend_redis_url: str | None,
    alice: dict[str, Any],
) -> None:
    first = sign_in(client)
    logout(client, first["access_token"])
    clock.advance(minutes=16)  # the first access token has expired by now
    second = sign_in(client)
    logout(client, second["access_token"])
    second_jti = unverified_claims(second["access_token"])["jti"]
    if backend_redis_url is None:
        assert set(revoked_rows(app)) == {second_jti}
    else:
        assert revoked_rows(app) == {}
    assert_access_ended(client, first["access_token"])
    assert_access_ended(client, second["access_token"])
