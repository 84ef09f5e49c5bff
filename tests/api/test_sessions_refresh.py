"""/login hands out an opaque refresh token; POST /token/refresh rotates it, and a spent token
that comes back (theft) ends the whole session. Runs on every backend of `client`.

The helpers shared with the other test_sessions_*.py files are in tests/session_support.py.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from A_DatabasePackage.settings import Settings
from B_EntityPackage.login_entity_master import Base
from B_EntityPackage.session_entities import RefreshToken
from I_ControllerPackage.app_factory import create_app
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
from tests.support import STRONG_PASSWORD, FakeClock, bearer, register


def all_stored_text(app: FastAPI) -> str:
    """Every row of every table, as one string."""
    parts: list[str] = []
    with app.state.database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            parts.extend(repr(tuple(row)) for row in connection.execute(table.select()))
    return "\n".join(parts)


@pytest.fixture
def alice(client: TestClient) -> dict[str, Any]:
    return register(client)


def test_json_and_form_login_return_a_refresh_token(
    client: TestClient, alice: dict[str, Any]
) -> None:
    json_login = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
    assert_token_body(json_login)
    form_login = client.post("/login", data={"username": "alice", "password": STRONG_PASSWORD})
    assert_token_body(form_login)
    grant = client.post(
        "/login", data={"username": "alice", "password": STRONG_PASSWORD, "grant_type": "password"}
    )
    assert_token_body(grant)
    tokens = {r.json()["refresh_token"] for r in (json_login, form_login, grant)}
    assert len(tokens) == 3
    sessions = {session_id_of(r.json()["access_token"]) for r in (json_login, form_login, grant)}
    assert len(sessions) == 3


def test_refresh_token_expire_days_is_respected(settings: Settings, clock: FakeClock) -> None:
    custom = settings.model_copy(update={"REFRESH_TOKEN_EXPIRE_DAYS": 2})
    with TestClient(create_app(custom, clock=clock)) as client:
        register(client)
        response = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
        assert_token_body(response, refresh_expires_in=2 * 24 * 3600)
        token = response.json()["refresh_token"]
        clock.advance(days=2, seconds=-5)
        assert_token_body(refresh(client, token), refresh_expires_in=2 * 24 * 3600)
        newest = refresh(client, token)  # a spent token: ends the session
        assert_error(newest, 401, "REFRESH_TOKEN_REUSED")
        fresh = sign_in(client)["refresh_token"]
        clock.advance(days=2, seconds=1)
        assert_refresh_invalid(client, fresh)


def test_only_the_sha256_of_a_refresh_token_is_stored(
    client: TestClient, app: FastAPI, alice: dict[str, Any]
) -> None:
    first = sign_in(client)["refresh_token"]
    second = refreshed(client, first)["refresh_token"]
    with app.state.database.session() as session:
        stored = session.scalars(select(RefreshToken).order_by(RefreshToken.id)).all()
        hashes = [row.token_hash for row in stored]
    assert hashes == [hashlib.sha256(t.encode()).hexdigest() for t in (first, second)]
    dump = all_stored_text(app)
    assert hashes[0] in dump
    for raw in (first, second):
        assert raw not in dump


def test_refresh_rotates_and_the_new_access_token_keeps_the_session(
    client: TestClient, alice: dict[str, Any]
) -> None:
    first = sign_in(client)
    response = refresh(client, first["refresh_token"])
    assert_token_body(response)
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert session_id_of(second["access_token"]) == session_id_of(first["access_token"])
    new_claims = unverified_claims(second["access_token"])
    assert new_claims["jti"] != unverified_claims(first["access_token"])["jti"]
    assert new_claims["sub"] == str(alice["id"])
    me = client.get("/users/me", headers=bearer(second["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == alice["id"]
    third = refreshed(client, second["refresh_token"])
    assert session_id_of(third["access_token"]) == session_id_of(first["access_token"])
    assert me_status(client, bearer(third["access_token"])) == 200


def test_a_spent_refresh_token_ends_the_whole_session(
    client: TestClient, alice: dict[str, Any]
) -> None:
    first = sign_in(client)
    second = refreshed(client, first["refresh_token"])
    third = refreshed(client, second["refresh_token"])
    other_session = sign_in(client)
    for token in (first, second, third):
        assert me_status(client, bearer(token["access_token"])) == 200

    assert_error(refresh(client, first["refresh_token"]), 401, "REFRESH_TOKEN_REUSED")

    assert_refresh_invalid(client, third["refresh_token"])
    for token in (first, second, third):
        assert_access_ended(client, token["access_token"])
    # Once the session has ended, presenting a spent token again is just invalid.
    assert_refresh_invalid(client, second["refresh_token"])
    assert_refresh_invalid(client, first["refresh_token"])
    # The account's other session is untouched.
    assert me_status(client, bearer(other_session["access_token"])) == 200
    assert_token_body(refresh(client, other_session["refresh_token"]))


def test_reusing_the_previous_token_right_after_a_rotation_is_reuse(
    client: TestClient, alice: dict[str, Any]
) -> None:
    first = sign_in(client)
    second = refreshed(client, first["refresh_token"])
    assert_error(refresh(client, first["refresh_token"]), 401, "REFRESH_TOKEN_REUSED")
    assert_refresh_invalid(client, second["refresh_token"])
    assert_access_ended(client, second["access_token"])


@pytest.mark.parametrize(
    "token",
    [
        "x",
        "A" * 43,
        "not-a-token-but-long-enough-to-look-like-one-0123456789",
        "é" * 50,
        "a" * 256,
    ],
)
def test_unknown_refresh_tokens_are_invalid(
    client: TestClient, alice: dict[str, Any], token: str
) -> None:
    live = sign_in(client)
    assert_refresh_invalid(client, token)
    # Garbage never ends anything.
    assert_token_body(refresh(client, live["refresh_token"]))


def test_an_access_token_is_not_a_refresh_token(client: TestClient, alice: dict[str, Any]) -> None:
    tokens = sign_in(client)
    assert_error(refresh(client, tokens["access_token"][:256]), 401, "INVALID_REFRESH_TOKEN")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"refresh_token": ""},
        {"refresh_token": "abc\x00def"},
        {"refresh_token": None},
        {"refresh_token": 12345},
        {"refresh_token": "a" * 257},
        {"refresh_token": "abc", "extra": 1},
        ["abc"],
    ],
)
def test_bad_refresh_bodies_are_422(client: TestClient, body: Any) -> None:
    response = client.post("/token/refresh", json=body)
    assert_error(response, 422, "VALIDATION_ERROR")
    assert "abc" not in response.text


def test_refresh_without_body_or_with_broken_json_is_422(client: TestClient) -> None:
    assert_error(client.post("/token/refresh"), 422, "VALIDATION_ERROR")
    broken = client.post(
        "/token/refresh",
        content=b'{"refresh_token": ',
        headers={"Content-Type": "application/json"},
    )
    assert_error(broken, 422, "VALIDATION_ERROR")


def test_refresh_with_a_non_json_body_is_415(client: TestClient, alice: dict[str, Any]) -> None:
    token = sign_in(client)["refresh_token"]
    form = client.post("/token/refresh", data={"refresh_token": token})
    assert_error(form, 415, "UNSUPPORTED_MEDIA_TYPE")
    text = client.post(
        "/token/refresh", content=token.encode(), headers={"Content-Type": "text/plain"}
    )
    assert_error(text, 415, "UNSUPPORTED_MEDIA_TYPE")
    # Refused bodies did not spend the token.
    assert_token_body(refresh(client, token))


def test_an_expired_refresh_token_is_invalid(
    client: TestClient, clock: FakeClock, alice: dict[str, Any]
) -> None:
    almost = sign_in(client)["refresh_token"]
    expired = sign_in(client)["refresh_token"]
    clock.advance(days=7, seconds=-60)
    assert_token_body(refresh(client, almost))
    clock.advance(seconds=61)
    assert_refresh_invalid(client, expired)
    assert_refresh_invalid(client, expired)  # still not "reused": it was never spent
