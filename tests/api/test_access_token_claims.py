"""What an issued access token holds, and which account changes end it."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from jose import jwt

from tests.admin_support import admin_headers, assert_error, create_admin
from tests.support import STRONG_PASSWORD, TEST_SECRET_KEY, bearer, login, register


def decode(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(
        token,
        TEST_SECRET_KEY,
        algorithms=["HS256"],
        audience="auth-service",
        issuer="auth-service",
    )
    return claims


def test_claims_of_an_issued_token(client: TestClient) -> None:
    user = register(client, "alice")
    before = int(time.time())
    response = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
    after = int(time.time())
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert response.headers["cache-control"] == "no-store"

    token = body["access_token"]
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = decode(token)
    assert claims["sub"] == str(user["id"])
    assert isinstance(claims["sub"], str)
    assert before <= claims["iat"] <= after
    assert claims["nbf"] == claims["iat"]
    assert claims["exp"] - claims["iat"] == 900
    assert claims["iss"] == "auth-service"
    assert claims["aud"] == "auth-service"
    assert claims["type"] == "access"
    assert claims["role"] == "user"
    assert isinstance(claims["jti"], str)
    assert len(claims["jti"]) >= 16


def test_jti_is_random_per_sign_in(client: TestClient) -> None:
    register(client, "alice")
    tokens = {login(client, "alice") for _ in range(3)}
    assert len(tokens) == 3
    assert len({decode(token)["jti"] for token in tokens}) == 3
    for token in tokens:
        assert client.get("/users/me", headers=bearer(token)).status_code == 200


def test_admin_token_carries_the_admin_role(app: FastAPI, client: TestClient) -> None:
    admin = create_admin(app, "root")
    claims = decode(login(client, "root"))
    assert claims["role"] == "admin"
    assert claims["sub"] == str(admin["id"])


def test_token_signs_in_by_email_names_the_same_account(client: TestClient) -> None:
    user = register(client, "alice")
    claims = decode(login(client, "ALICE@example.com"))
    assert claims["sub"] == str(user["id"])


def test_token_of_a_deleted_user(app: FastAPI, client: TestClient) -> None:
    user = register(client, "alice")
    token = login(client, "alice")
    response = client.delete(f"/users/{user['id']}", headers=admin_headers(app, client))
    assert response.status_code == 204
    assert_error(client.get("/users/me", headers=bearer(token)), 401, "INVALID_TOKEN")


def test_token_of_a_disabled_user_and_re_enabled_user(app: FastAPI, client: TestClient) -> None:
    user = register(client, "alice")
    token = login(client, "alice")
    admin = admin_headers(app, client)
    disabled = client.patch(f"/users/{user['id']}", json={"is_active": False}, headers=admin)
    assert disabled.status_code == 200
    assert disabled.json()["is_active"] is False
    assert_error(client.get("/users/me", headers=bearer(token)), 401, "INVALID_TOKEN")
    refused = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
    assert_error(refused, 403, "ACCOUNT_DISABLED")

    enabled = client.patch(f"/users/{user['id']}", json={"is_active": True}, headers=admin)
    assert enabled.status_code == 200
    # Re-enabling does not revive the tokens that the disable ended.
    assert_error(client.get("/users/me", headers=bearer(token)), 401, "INVALID_TOKEN")
    fresh = login(client, "alice")
    assert client.get("/users/me", headers=bearer(fresh)).status_code == 200


def test_forged_token_for_a_user_that_never_existed(client: TestClient) -> None:
    register(client, "alice")
    claims = jwt.get_unverified_claims(login(client, "alice"))
    forged = jwt.encode({**claims, "sub": "4242"}, TEST_SECRET_KEY, algorithm="HS256")
    assert_error(client.get("/users/me", headers=bearer(forged)), 401, "INVALID_TOKEN")
