"""DELETE /delete: the signed-in user deletes their own account."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.admin_support import assert_error, create_admin
from tests.support import OTHER_STRONG_PASSWORD, STRONG_PASSWORD, bearer, login, register


def delete_self(client: TestClient, headers: dict[str, str], body: Any) -> Any:
    return client.request("DELETE", "/delete", json=body, headers=headers)


def test_delete_self(client: TestClient) -> None:
    register(client, "alice")
    headers = bearer(login(client, "alice"))
    response = delete_self(client, headers, {"password": STRONG_PASSWORD})
    assert response.status_code == 204
    assert response.content == b""
    assert_error(client.get("/users/me", headers=headers), 401, "INVALID_TOKEN")
    assert_error(delete_self(client, headers, {"password": STRONG_PASSWORD}), 401, "INVALID_TOKEN")
    refused = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
    assert_error(refused, 401, "INVALID_CREDENTIALS")


def test_wrong_password_deletes_nothing(client: TestClient) -> None:
    user = register(client, "alice")
    headers = bearer(login(client, "alice"))
    response = delete_self(client, headers, {"password": OTHER_STRONG_PASSWORD})
    assert_error(response, 403, "INVALID_CURRENT_PASSWORD")
    assert OTHER_STRONG_PASSWORD not in response.text
    me = client.get("/users/me", headers=headers)
    assert me.status_code == 200
    assert me.json() == user


@pytest.mark.parametrize(
    "body",
    [None, {}, {"password": None}, {"password": 123456789012}, {"password": "", "x": 1}],
)
def test_delete_needs_a_password(client: TestClient, body: Any) -> None:
    user = register(client, "alice")
    headers = bearer(login(client, "alice"))
    assert_error(delete_self(client, headers, body), 422, "VALIDATION_ERROR")
    assert client.get("/users/me", headers=headers).json() == user


def test_names_can_be_registered_again_and_old_token_stays_dead(client: TestClient) -> None:
    register(client, "bob")
    alice = register(client, "alice", email="Alice@Example.com")
    old_headers = bearer(login(client, "alice"))
    # alice holds the highest id: a reused id would hand her old token the new account.
    assert delete_self(client, old_headers, {"password": STRONG_PASSWORD}).status_code == 204

    again = register(client, "alice", email="alice@example.com", password=OTHER_STRONG_PASSWORD)
    assert again["id"] > alice["id"]
    assert_error(client.get("/users/me", headers=old_headers), 401, "INVALID_TOKEN")
    assert_error(client.get(f"/users/{again['id']}", headers=old_headers), 401, "INVALID_TOKEN")

    new_headers = bearer(login(client, "alice", OTHER_STRONG_PASSWORD))
    me = client.get("/users/me", headers=new_headers)
    assert me.status_code == 200
    assert me.json() == again


def test_ids_are_not_reused_after_several_deletions(client: TestClient) -> None:
    seen: set[int] = set()
    for _ in range(3):
        user = register(client, "carol")
        assert user["id"] not in seen
        seen.add(user["id"])
        headers = bearer(login(client, "carol"))
        assert delete_self(client, headers, {"password": STRONG_PASSWORD}).status_code == 204


def test_last_active_admin_cannot_delete_self(app: FastAPI, client: TestClient) -> None:
    admin = create_admin(app, "root")
    headers = bearer(login(client, "root"))
    assert_error(delete_self(client, headers, {"password": STRONG_PASSWORD}), 409, "LAST_ADMIN")
    me = client.get("/users/me", headers=headers)
    assert me.status_code == 200
    assert me.json() == admin


def test_wrong_password_of_last_admin_is_checked_first(app: FastAPI, client: TestClient) -> None:
    create_admin(app, "root")
    headers = bearer(login(client, "root"))
    response = delete_self(client, headers, {"password": OTHER_STRONG_PASSWORD})
    assert_error(response, 403, "INVALID_CURRENT_PASSWORD")


def test_admin_deletes_self_when_another_admin_remains(app: FastAPI, client: TestClient) -> None:
    create_admin(app, "root")
    create_admin(app, "root2")
    headers = bearer(login(client, "root"))
    assert delete_self(client, headers, {"password": STRONG_PASSWORD}).status_code == 204
    remaining = bearer(login(client, "root2"))
    assert_error(delete_self(client, remaining, {"password": STRONG_PASSWORD}), 409, "LAST_ADMIN")


def test_disabled_admin_does_not_count_as_another_admin(app: FastAPI, client: TestClient) -> None:
    create_admin(app, "root")
    spare = create_admin(app, "spare")
    headers = bearer(login(client, "root"))
    patched = client.patch(f"/users/{spare['id']}", json={"is_active": False}, headers=headers)
    assert patched.status_code == 200, patched.text
    assert_error(delete_self(client, headers, {"password": STRONG_PASSWORD}), 409, "LAST_ADMIN")
