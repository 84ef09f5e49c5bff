"""A password change, an account deletion, a disable and a role change end the account's
refresh tokens (and sessions) too, not only its access tokens. Other changes do not."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.admin_support import admin_headers, assert_error, me_status
from tests.session_support import (
    assert_access_ended,
    assert_refresh_invalid,
    assert_token_body,
    refresh,
    refreshed,
    sign_in,
)
from tests.support import OTHER_STRONG_PASSWORD, STRONG_PASSWORD, bearer, register


@pytest.fixture
def alice(client: TestClient) -> dict[str, Any]:
    return register(client)


def two_sessions(client: TestClient) -> list[dict[str, Any]]:
    """Two sign-ins of alice, the first one rotated once (its first token is spent)."""
    first = refreshed(client, sign_in(client, user_agent="one")["refresh_token"])
    return [first, sign_in(client, user_agent="two")]


def assert_all_ended(client: TestClient, sessions: list[dict[str, Any]]) -> None:
    for tokens in sessions:
        assert_refresh_invalid(client, tokens["refresh_token"])
        assert_access_ended(client, tokens["access_token"])


def test_a_password_change_ends_every_refresh_token(
    client: TestClient, alice: dict[str, Any]
) -> None:
    sessions = two_sessions(client)
    response = client.put(
        "/update",
        json={"new_password": OTHER_STRONG_PASSWORD, "current_password": STRONG_PASSWORD},
        headers=bearer(sessions[1]["access_token"]),
    )
    assert response.status_code == 200, response.text
    assert_all_ended(client, sessions)
    fresh = sign_in(client, password=OTHER_STRONG_PASSWORD)
    assert_token_body(refresh(client, fresh["refresh_token"]))


def test_a_refused_password_change_ends_nothing(client: TestClient, alice: dict[str, Any]) -> None:
    sessions = two_sessions(client)
    response = client.put(
        "/update",
        json={"new_password": OTHER_STRONG_PASSWORD, "current_password": "wrong password 123"},
        headers=bearer(sessions[1]["access_token"]),
    )
    assert_error(response, 403, "INVALID_CURRENT_PASSWORD")
    for tokens in sessions:
        assert me_status(client, bearer(tokens["access_token"])) == 200
        assert_token_body(refresh(client, tokens["refresh_token"]))


def test_other_profile_changes_keep_the_sessions(client: TestClient, alice: dict[str, Any]) -> None:
    sessions = two_sessions(client)
    response = client.put(
        "/update", json={"full_name": "Alice A."}, headers=bearer(sessions[0]["access_token"])
    )
    assert response.status_code == 200, response.text
    for tokens in sessions:
        assert me_status(client, bearer(tokens["access_token"])) == 200
        assert_token_body(refresh(client, tokens["refresh_token"]))


def test_deleting_the_account_ends_every_refresh_token(
    client: TestClient, alice: dict[str, Any]
) -> None:
    sessions = two_sessions(client)
    response = client.request(
        "DELETE",
        "/delete",
        json={"password": STRONG_PASSWORD},
        headers=bearer(sessions[0]["access_token"]),
    )
    assert response.status_code == 204, response.text
    assert_all_ended(client, sessions)
    # A new account with the same name does not inherit the old sessions.
    register(client)
    assert_all_ended(client, sessions)


def test_an_admin_deleting_the_account_ends_every_refresh_token(
    client: TestClient, app: FastAPI, alice: dict[str, Any]
) -> None:
    admin = admin_headers(app, client)
    sessions = two_sessions(client)
    response = client.delete(f"/users/{alice['id']}", headers=admin)
    assert response.status_code == 204, response.text
    assert_all_ended(client, sessions)
    assert me_status(client, admin) == 200


def test_disabling_the_account_ends_every_refresh_token(
    client: TestClient, app: FastAPI, alice: dict[str, Any]
) -> None:
    admin = admin_headers(app, client)
    sessions = two_sessions(client)
    response = client.patch(f"/users/{alice['id']}", json={"is_active": False}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False
    assert_all_ended(client, sessions)
    # Enabling it again does not bring the old sessions back.
    response = client.patch(f"/users/{alice['id']}", json={"is_active": True}, headers=admin)
    assert response.status_code == 200, response.text
    assert_all_ended(client, sessions)
    assert_token_body(refresh(client, sign_in(client)["refresh_token"]))
    assert me_status(client, admin) == 200


@pytest.mark.parametrize("role", ["admin", "user"])
def test_a_role_change_ends_every_refresh_token(
    client: TestClient, app: FastAPI, alice: dict[str, Any], role: str
) -> None:
    admin = admin_headers(app, client)
    if role == "user":  # demote an admin: make alice one first
        response = client.patch(f"/users/{alice['id']}", json={"role": "admin"}, headers=admin)
        assert response.status_code == 200, response.text
    sessions = two_sessions(client)
    response = client.patch(f"/users/{alice['id']}", json={"role": role}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["role"] == role
    assert_all_ended(client, sessions)
    fresh = refreshed(client, sign_in(client)["refresh_token"])
    me = client.get("/users/me", headers=bearer(fresh["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["role"] == role


def test_an_admin_edit_without_a_role_or_status_change_keeps_the_sessions(
    client: TestClient, app: FastAPI, alice: dict[str, Any]
) -> None:
    admin = admin_headers(app, client)
    sessions = two_sessions(client)
    response = client.patch(
        f"/users/{alice['id']}",
        json={"role": "user", "is_active": True, "full_name": "Alice"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    for tokens in sessions:
        assert me_status(client, bearer(tokens["access_token"])) == 200
        assert_token_body(refresh(client, tokens["refresh_token"]))


def test_ending_one_account_leaves_the_others_sessions(
    client: TestClient, app: FastAPI, alice: dict[str, Any]
) -> None:
    admin = admin_headers(app, client)
    register(client, "bob")
    bob = sign_in(client, "bob")
    sign_in(client)
    response = client.patch(f"/users/{alice['id']}", json={"is_active": False}, headers=admin)
    assert response.status_code == 200, response.text
    assert me_status(client, bearer(bob["access_token"])) == 200
    assert_token_body(refresh(client, bob["refresh_token"]))
