"""Helpers for the account, admin and token tests: admins made through the service layer,
error assertions and hand-crafted JWTs."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jose import jwt

from A_DatabasePackage.database import Database
from C_SchemaPackage.request import RegisterRequest
from H_ServiceImplementationPackage.user_admin_service_implementation import UserAdminService
from I_ControllerPackage.app_components import SecurityComponents
from tests.support import STRONG_PASSWORD, TEST_SECRET_KEY, bearer, login, sql_unit_of_work

ADMIN_PASSWORD = "admin pass phrase for tests"


def create_admin(
    app: FastAPI,
    username: str = "root",
    email: str | None = None,
    password: str = STRONG_PASSWORD,
) -> dict[str, Any]:
    """An admin account created the way the CLI and the bootstrap do: through the service."""
    security: SecurityComponents = app.state.security
    service = UserAdminService(
        app.state.unit_of_work_factory(),
        security.hasher,
        security.policy,
        security.clock,
    )
    created = service.create_admin(
        RegisterRequest(
            username=username, email=email or f"{username}@example.com", password=password
        )
    )
    assert created.role == "admin"
    body: dict[str, Any] = created.model_dump(mode="json")
    return body


def create_admin_token(app: FastAPI, client: TestClient, username: str = "root") -> str:
    """An admin made through the admin service (as the CLI does), signed in over HTTP."""
    security: SecurityComponents = app.state.security
    database: Database = app.state.database
    service = UserAdminService(
        sql_unit_of_work(database),
        security.hasher,
        security.policy,
        security.clock,
    )
    request = RegisterRequest(
        username=username, email=f"{username}@example.com", password=ADMIN_PASSWORD
    )
    assert service.create_admin(request).role == "admin"
    return login(client, username, ADMIN_PASSWORD)


def admin_headers(app: FastAPI, client: TestClient, username: str = "root") -> dict[str, str]:
    """Create an admin and return the Authorization header of a fresh sign-in."""
    create_admin(app, username)
    return bearer(login(client, username))


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code, response.text
    if status == 401:
        challenge = response.headers.get("www-authenticate", "")
        assert challenge.split(" ", 1)[0] == "Bearer", response.headers


def me_status(client: TestClient, headers: dict[str, str]) -> int:
    status: int = client.get("/users/me", headers=headers).status_code
    return status


def unverified_claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.get_unverified_claims(token)
    return claims


def sign(claims: dict[str, Any], algorithm: str = "HS256", key: str = TEST_SECRET_KEY) -> str:
    token: str = jwt.encode(claims, key, algorithm=algorithm)
    return token


def b64url(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned_token(claims: dict[str, Any]) -> str:
    """An `alg: none` JWT, built by hand since libraries refuse to make one."""
    return f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims)}."
