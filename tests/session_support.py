"""HTTP shortcuts for the sign-in session tests: sign in, refresh, and the checks that a token
was refused or ended (used over a TestClient and over real HTTP alike)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.admin_support import assert_error, unverified_claims
from tests.support import STRONG_PASSWORD, bearer

URLSAFE = re.compile(r"^[A-Za-z0-9_-]+$")
SEVEN_DAYS = 7 * 24 * 3600


def sign_in(
    client: TestClient | httpx.Client,
    username: str = "alice",
    user_agent: str | None = None,
    password: str = STRONG_PASSWORD,
) -> dict[str, Any]:
    """A JSON /login; returns the TokenOut body."""
    headers = {"User-Agent": user_agent} if user_agent is not None else {}
    response = client.post(
        "/login", json={"username": username, "password": password}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refresh(client: TestClient | httpx.Client, refresh_token: str) -> httpx.Response:
    return client.post("/token/refresh", json={"refresh_token": refresh_token})


def refreshed(client: TestClient | httpx.Client, refresh_token: str) -> dict[str, Any]:
    response = refresh(client, refresh_token)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_refresh_invalid(client: TestClient | httpx.Client, refresh_token: str) -> None:
    assert_error(refresh(client, refresh_token), 401, "INVALID_REFRESH_TOKEN")


def assert_access_ended(client: TestClient | httpx.Client, access_token: str) -> None:
    assert_error(client.get("/users/me", headers=bearer(access_token)), 401, "INVALID_TOKEN")


def session_id_of(access_token: str) -> int:
    sid: int = unverified_claims(access_token)["sid"]
    return sid


def assert_token_body(response: httpx.Response, refresh_expires_in: int = SEVEN_DAYS) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "refresh_expires_in",
    }
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["refresh_expires_in"] == refresh_expires_in
    token = body["refresh_token"]
    assert URLSAFE.match(token), token
    assert len(token) >= 43  # 32 random bytes, urlsafe base64 without padding
    assert token != body["access_token"]
