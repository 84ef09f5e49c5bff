"""POST /login (JSON and the OAuth2 form) and POST /users/code."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.admin_support import create_admin_token
from tests.support import OTHER_STRONG_PASSWORD, STRONG_PASSWORD, bearer, login, register

TOKEN_KEYS = {"access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in"}


def disable(client: TestClient, admin_token: str, user_id: int) -> None:
    response = client.patch(
        f"/users/{user_id}", json={"is_active": False}, headers=bearer(admin_token)
    )
    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False


def assert_token_response(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == TOKEN_KEYS
    assert isinstance(body["access_token"], str)
    assert body["access_token"].count(".") == 2
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert isinstance(body["refresh_token"], str)
    assert len(body["refresh_token"]) >= 43  # at least 256 random bits, base64url
    assert body["refresh_token"] != body["access_token"]
    assert body["refresh_expires_in"] == 7 * 24 * 60 * 60
    assert response.headers["Cache-Control"] == "no-store"


def assert_invalid_credentials(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    body: dict[str, Any] = response.json()
    assert set(body) == {"detail", "code"}
    assert body["code"] == "INVALID_CREDENTIALS"
    return body


def assert_account_disabled(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    body = response.json()
    assert set(body) == {"detail", "code"}
    assert body["code"] == "ACCOUNT_DISABLED"


def test_json_login_returns_a_bearer_token(client: TestClient) -> None:
    register(client, "alice")
    response = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
    assert_token_response(response)
    token = response.json()["access_token"]
    assert client.get("/users/me", headers=bearer(token)).json()["username"] == "alice"


@pytest.mark.parametrize(
    "extra",
    [{}, {"grant_type": "password"}, {"grant_type": "password", "scope": "", "client_id": "x"}],
)
def test_form_login_with_or_without_grant_type(client: TestClient, extra: dict[str, str]) -> None:
    register(client, "alice")
    response = client.post(
        "/login", data={"username": "alice", "password": STRONG_PASSWORD, **extra}
    )
    assert response.request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert_token_response(response)


@pytest.mark.parametrize("grant_type", ["other", "client_credentials", "refresh_token", ""])
def test_form_login_with_another_grant_type_is_422(client: TestClient, grant_type: str) -> None:
    register(client, "alice")
    response = client.post(
        "/login",
        data={"username": "alice", "password": STRONG_PASSWORD, "grant_type": grant_type},
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert isinstance(response.json()["detail"], list)


@pytest.mark.parametrize(
    "name",
    ["alice", "ALICE", "Alice", "alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.Com"],
)
def test_sign_in_name_is_username_or_email_in_any_case(client: TestClient, name: str) -> None:
    register(client, "Alice", "alice@example.com")
    assert_token_response(
        client.post("/login", json={"username": name, "password": STRONG_PASSWORD})
    )
    assert_token_response(
        client.post("/login", data={"username": name, "password": STRONG_PASSWORD})
    )


def test_unknown_user_and_wrong_password_answer_alike(client: TestClient) -> None:
    register(client, "alice")
    wrong_password = client.post(
        "/login", json={"username": "alice", "password": OTHER_STRONG_PASSWORD}
    )
    unknown_user = client.post(
        "/login", json={"username": "nobody", "password": OTHER_STRONG_PASSWORD}
    )
    unknown_email = client.post(
        "/login", data={"username": "nobody@example.com", "password": STRONG_PASSWORD}
    )
    bodies = [assert_invalid_credentials(r) for r in (wrong_password, unknown_user, unknown_email)]
    assert bodies[0] == bodies[1] == bodies[2]
    assert wrong_password.content == unknown_user.content
    # Equal but for X-Request-ID, which is new for every request.
    assert {**wrong_password.headers, "x-request-id": ""} == {
        **unknown_user.headers,
        "x-request-id": "",
    }


def test_password_is_case_sensitive(client: TestClient) -> None:
    register(client, "alice")
    response = client.post(
        "/login", json={"username": "alice", "password": STRONG_PASSWORD.upper()}
    )
    assert_invalid_credentials(response)


def test_disabled_account_is_revealed_only_to_the_right_password(
    app: FastAPI, client: TestClient
) -> None:
    user = register(client, "alice")
    old_token = login(client, "alice")
    disable(client, create_admin_token(app, client), user["id"])

    right = {"username": "alice", "password": STRONG_PASSWORD}
    wrong = {"username": "alice", "password": OTHER_STRONG_PASSWORD}
    assert_account_disabled(client.post("/login", json=right))
    assert_account_disabled(client.post("/login", data=right))
    assert_account_disabled(client.post("/users/code", json=right))
    assert_invalid_credentials(client.post("/login", json=wrong))
    assert_invalid_credentials(client.post("/login", data=wrong))
    assert_invalid_credentials(client.post("/users/code", json=wrong))
    assert client.get("/users/me", headers=bearer(old_token)).status_code == 401


def test_disabled_then_enabled_account_signs_in_again(app: FastAPI, client: TestClient) -> None:
    user = register(client, "alice")
    admin_token = create_admin_token(app, client)
    disable(client, admin_token, user["id"])
    response = client.patch(
        f"/users/{user['id']}", json={"is_active": True}, headers=bearer(admin_token)
    )
    assert response.status_code == 200, response.text
    assert_token_response(
        client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
    )


@pytest.mark.parametrize(
    "body",
    [
        {"username": "alice"},
        {"password": STRONG_PASSWORD},
        {},
        {"username": "", "password": STRONG_PASSWORD},
        {"username": "alice", "password": ""},
        {"username": "alice", "password": 123456789012},
        {"username": "alice", "password": None},
        {"username": None, "password": STRONG_PASSWORD},
        {"username": ["alice"], "password": STRONG_PASSWORD},
        {"username": "alice", "password": "p" * 129},
    ],
)
def test_malformed_login_bodies_are_422(client: TestClient, body: dict[str, Any]) -> None:
    register(client, "alice")
    for path in ("/login", "/users/code"):
        response = client.post(path, json=body)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["code"] == "VALIDATION_ERROR"
        assert isinstance(response.json()["detail"], list)
        assert STRONG_PASSWORD not in response.text


def test_form_login_missing_password_is_422(client: TestClient) -> None:
    response = client.post("/login", data={"username": "alice"})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert ["body", "password"] in [item["loc"] for item in response.json()["detail"]]


def test_users_code_returns_the_account(client: TestClient) -> None:
    created = register(client, "Alice", "alice@example.com", full_name="Alice Liddell")
    for name in ("Alice", "alice", "ALICE@example.com"):
        response = client.post("/users/code", json={"username": name, "password": STRONG_PASSWORD})
        assert response.status_code == 200, response.text
        assert response.json() == created
        assert "access_token" not in response.text


def test_users_code_failures_match_login(client: TestClient) -> None:
    register(client, "alice")
    wrong = client.post(
        "/users/code", json={"username": "alice", "password": OTHER_STRONG_PASSWORD}
    )
    unknown = client.post("/users/code", json={"username": "ghost", "password": STRONG_PASSWORD})
    login_wrong = client.post("/login", json={"username": "alice", "password": "nope nope nope"})
    assert assert_invalid_credentials(wrong) == assert_invalid_credentials(unknown)
    assert assert_invalid_credentials(wrong) == assert_invalid_credentials(login_wrong)


def test_users_code_takes_json_only(client: TestClient) -> None:
    register(client, "alice")
    response = client.post("/users/code", data={"username": "alice", "password": STRONG_PASSWORD})
    assert response.status_code == 415, response.text
    assert response.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert set(response.json()) == {"detail", "code"}
