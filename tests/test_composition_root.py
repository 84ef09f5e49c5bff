"""The composition root (I_ControllerPackage.dependencies): a test swaps a service through
`app.dependency_overrides`, and the sign-in routes resolve a handful of providers, not one per
part (README "Performance")."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from C_SchemaPackage.request import RegisterRequest, UpdateSelfRequest
from C_SchemaPackage.response import TokenOut, UserOut
from E_SecurityPackage.access_context import ClientInfo
from G_ServiceFunctionPackage.login_service_function import AuthServiceInterface
from I_ControllerPackage import auth_routes
from I_ControllerPackage.dependencies import get_auth_service
from tests.support import STRONG_PASSWORD

SIGN_IN_ROUTES = ("/login", "/register", "/users/code")
MAX_PROVIDERS_PER_SIGN_IN = 5


class RecordingAuthService(AuthServiceInterface):
    """Answers every sign-in with one fixed token pair and remembers who asked."""

    def __init__(self) -> None:
        self.sign_ins: list[tuple[str, str, ClientInfo]] = []

    def login(self, sign_in_name: str, password: str, client: ClientInfo) -> TokenOut:
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


def test_sign_in_routes_resolve_a_handful_of_providers() -> None:
    """FastAPI resolves each provider of a route for every request; a sign-in that resolved
    27 spent a third of its event-loop time on it. One provider per service keeps it small."""
    routes = {
        route.path: route
        for route in auth_routes.router.routes
        if isinstance(route, APIRoute) and route.path in SIGN_IN_ROUTES
    }
    assert set(routes) == set(SIGN_IN_ROUTES)
    for path, route in routes.items():
        resolved = list(_providers(route.dependant))
        assert get_auth_service in resolved, path
        assert len(resolved) <= MAX_PROVIDERS_PER_SIGN_IN, (path, resolved)
