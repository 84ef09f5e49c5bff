"""Schemathesis fuzzes every operation of /openapi.json, signed in as an admin, on SQLite and
PostgreSQL: no 5xx, every status, content type, body and header as documented.

Nothing is excluded. Operations that would end the admin's token or the admin itself
(DELETE /delete, POST /logout, POST /logout/all, DELETE /sessions/{id}, PATCH /users/{id} on
the admin, PUT /update with a new password) are fuzzed like the others: every example starts
from a freshly emptied database with a new admin, a regular user and a fresh admin token (see
`fresh_state`), so what one example ends cannot turn the next one's requests into 401s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.types import Receive, Scope, Send

from A_DatabasePackage.settings import Settings
from I_ControllerPackage.app_factory import create_app
from tests.admin_support import create_admin
from tests.fuzz_support import empty_tables
from tests.support import STRONG_PASSWORD, bearer, login, make_settings, register

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Bounded so the whole file stays within about two minutes on two cores.
EXAMPLES_PER_OPERATION = 50


# SQLite and PostgreSQL, not conftest's three back ends: Redis adds nothing here.
pytestmark = pytest.mark.backends("sqlite", "postgresql")


def http_only(app: FastAPI) -> Any:
    """The app without its lifespan: the TestClient below runs (and ends) that once per test,
    where schemathesis would otherwise keep a started app alive until the process exits."""

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise RuntimeError("lifespan is run by the test's TestClient")
        await app(scope, receive, send)

    return asgi


class FuzzTarget:
    def __init__(self, app: FastAPI, client: TestClient) -> None:
        self.app = app
        self.client = client
        self.asgi = http_only(app)

    def fresh_state(self) -> dict[str, str]:
        """An emptied database with an admin and a user; the admin's Authorization header."""
        empty_tables(self.app)
        create_admin(self.app, "root")
        register(self.client, "alice")
        return bearer(login(self.client, "root", STRONG_PASSWORD))


@pytest.fixture
def fuzz_target(app: FastAPI) -> Iterator[FuzzTarget]:
    with TestClient(app) as client:
        yield FuzzTarget(app, client)


# The document does not depend on the database, so it is read once from an app that is never
# started; each test then sends its cases to its own backend's app.
schema = schemathesis.openapi.from_dict(
    create_app(make_settings("sqlite:///unused-by-the-openapi-document.db")).openapi()
)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: schemathesis.Case[Any], fuzz_target: FuzzTarget) -> None:
    case.call_and_validate(headers=fuzz_target.fresh_state(), checks=CHECKS, app=fuzz_target.asgi)


@pytest.fixture(name="settings")
def settings_without_rate_limits(database_url: str) -> Settings:
    """Fuzzing registers and signs in far more often than any rate limit allows; the limits
    have their own tests, so they are off here."""
    return make_settings(database_url, RATE_LIMIT_ENABLED=False)
