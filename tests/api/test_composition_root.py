"""The composition root (I_ControllerPackage.dependencies): a test swaps a service through
`app.dependency_overrides`, or the access check the Bearer dependency asks; the Bearer
dependency is the OpenAPI security scheme."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase
from fastapi.testclient import TestClient

from B_EntityPackage.domain import ClientInfo
from C_SchemaPackage.request import RegisterRequest, UpdateSelfRequest
from C_SchemaPackage.response import TokenOut, UserOut
from E_SecurityPackage.access_context import CurrentAccess
from E_SecurityPackage.login_auth_jwt import AccessTokenClaims
from G_ServiceFunctionPackage.access_check_service_function import AccessCheckServiceInterface
from G_ServiceFunctionPackage.login_service_function import AuthServiceInterface
from I_ControllerPackage import account_routes
from I_ControllerPackage.dependencies import get_auth_service, get_current_access, get_current_user
from tests.support import STRONG_PASSWORD


class RecordingAuthService(AuthServiceInterface):
    """Answers every sign-in with one fixed token pair and remembers who asked."""

    def __init__(self) -> None:
        self.sign_ins: list[tuple[str, str, ClientInfo]] = []

    def login(self, sign_in_name: str, password: str, client: ClientInfo) -> TokenOut:
        return self.sign_in(sign_in_name, password, client)

    def sign_in(self, sign_in_name: str, password: str, client: ClientInfo) -> TokenOut:
        self.sign_ins.append((sign_in_name, password, client))
        return TokenOut(
            access_token="swapped",
            expires_in=60,
            refresh_token="also-swapped",
            refresh_expires_in=120,
        )

    def register(self, request: RegisterRequest) -> UserOut:
        raise NotImplementedError

    def verify_credentials(self, sign_in_name: str, password: str) -> UserOut:
        raise NotImplementedError

    def update_self(self, user_id: int, request: UpdateSelfRequest) -> UserOut:
        raise NotImplementedError

    def delete_self(self, user_id: int, password: str) -> None:
        raise NotImplementedError


def _providers(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _providers(dependency)


def test_a_test_swaps_the_sign_in_service(app: FastAPI) -> None:
    service = RecordingAuthService()
    app.dependency_overrides[get_auth_service] = lambda: service
    with TestClient(app) as client:
        answer = client.post(
            "/login",
            json={"username": "nobody", "password": STRONG_PASSWORD},
            headers={"User-Agent": "swap-test"},
        )
    assert answer.status_code == 200, answer.text
    assert (answer.json()["access_token"], answer.json()["refresh_token"]) == (
        "swapped",
        "also-swapped",
    )
    [(name, password, client_info)] = service.sign_ins
    assert (name, password, client_info.user_agent) == ("nobody", STRONG_PASSWORD, "swap-test")


SWAPPED_USER = UserOut(
    id=4242,
    username="swapped",
    email="swapped@example.com",
    full_name=None,
    role="user",
    is_active=True,
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
    updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    email_verified=False,
)


def swapped_access(token: str) -> CurrentAccess:
    claims = AccessTokenClaims(
        user_id=SWAPPED_USER.id,
        role="user",
        token_version=0,
        session_id=1,
        jti=token,
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    return CurrentAccess(user=SWAPPED_USER, claims=claims)


class AnyTokenAccessCheck(AccessCheckServiceInterface):
    """Takes every token for SWAPPED_USER and remembers the tokens it was shown."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def authenticate_access_token(self, token: str) -> CurrentAccess:
        self.tokens.append(token)
        return swapped_access(token)


def test_a_test_swaps_the_current_user_dependency(app: FastAPI) -> None:
    app.dependency_overrides[get_current_access] = lambda: swapped_access("none")
    with TestClient(app) as client:
        answer = client.get("/users/me")  # no header at all: the swapped part decides
    assert answer.status_code == 200, answer.text
    assert answer.json()["username"] == "swapped"


def test_a_test_swaps_the_access_check_the_dependency_asks(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    check = AnyTokenAccessCheck()
    monkeypatch.setattr(get_current_access, "access_check_of", lambda _request: check)
    with TestClient(app) as client:
        answer = client.get("/users/me", headers={"Authorization": "bearer  not-a-jwt "})
        missing = client.get("/users/me")
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == SWAPPED_USER.id
    assert check.tokens == ["not-a-jwt"]  # the header is parsed before the check is asked
    assert (missing.status_code, missing.json()["code"]) == (401, "NOT_AUTHENTICATED")


def test_the_token_check_is_one_dependency_that_openapi_sees_as_the_scheme() -> None:
    """/users/me resolves the user, and the scheme that checks the token."""
    [route] = [
        route
        for route in account_routes.router.routes
        if isinstance(route, APIRoute) and route.path == "/users/me"
    ]
    assert list(_providers(route.dependant)) == [get_current_user, get_current_access]
    assert isinstance(get_current_access, SecurityBase)
    assert get_current_access.scheme_name == "OAuth2PasswordBearer"


def test_the_docs_list_every_tag_in_a_fixed_order(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    declared = [tag["name"] for tag in spec["tags"]]
    used = {
        tag
        for operations in spec["paths"].values()
        for operation in operations.values()
        for tag in operation.get("tags", [])
    }
    assert declared[:2] == ["health", "auth"]
    assert set(declared) == used
    assert all(tag.get("description") for tag in spec["tags"])
