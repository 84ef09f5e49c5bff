"""Every operation in /openapi.json declares the errors the request guard and the bearer check
answer on it, and answers them as declared (schemathesis then checks bodies and headers)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from I_ControllerPackage.request_guard import MAX_BODY_BYTES


@pytest.fixture
def backend() -> str:
    """No database work happens before these answers: SQLite alone is enough."""
    return "sqlite"


def operations(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    spec = client.get("/openapi.json").json()
    return [
        (method.upper(), path.replace("{user_id}", "1").replace("{session_id}", "1"), operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def test_every_operation_is_probed(client: TestClient) -> None:
    # with /readyz, /metrics, /audit, MFA, recovery, email verification, /.well-known,
    # introspection, the keys
    assert len(operations(client)) == 37


@pytest.mark.parametrize(
    ("status", "request_kwargs"),
    [
        (422, {"params": {"probe": "a\x00b"}}),
        (413, {"content": b"[" + b" " * MAX_BODY_BYTES + b"]"}),
        (415, {"content": b"hello", "headers": {"Content-Type": "text/plain"}}),
    ],
)
def test_request_guard_answers_are_declared_everywhere(
    client: TestClient, status: int, request_kwargs: dict[str, Any]
) -> None:
    kwargs = {"headers": {"Content-Type": "application/json"}, **request_kwargs}
    for method, path, operation in operations(client):
        response = client.request(method, path, **kwargs)
        assert response.status_code == status, (method, path, response.text)
        assert str(status) in operation["responses"], (method, path)
        assert set(response.json()) == {"detail", "code"}


def test_protected_operations_declare_401_with_its_challenge(client: TestClient) -> None:
    protected = [op for op in operations(client) if op[2].get("security")]
    assert len(protected) == 21  # with /audit, the MFA routes but /login/mfa, /admin/keys
    for method, path, operation in protected:
        response = client.request(method, path)
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"
        declared = operation["responses"]["401"]
        assert declared["headers"]["WWW-Authenticate"]["required"] is True, (method, path)


def test_success_headers_are_declared(client: TestClient) -> None:
    by_operation = {(method, path): op for method, path, op in operations(client)}
    for key, status, header in [
        (("POST", "/register"), "201", "Location"),
        (("POST", "/login"), "200", "Cache-Control"),
        (("POST", "/token/refresh"), "200", "Cache-Control"),
        (("POST", "/login/mfa"), "200", "Cache-Control"),
        (("POST", "/mfa/totp/enroll"), "200", "Cache-Control"),
        (("POST", "/mfa/totp/confirm"), "200", "Cache-Control"),
        (("POST", "/mfa/recovery-codes"), "200", "Cache-Control"),
    ]:
        assert by_operation[key]["responses"][status]["headers"][header]["required"] is True


def test_every_schema_reference_resolves(client: TestClient) -> None:
    """A `$ref` to a schema that is not in components breaks ReDoc's page (and code
    generators): the routes that read JSON or a form themselves describe their bodies inline."""
    spec = client.get("/openapi.json").json()
    references = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(spec)))
    assert references
    assert references <= set(spec["components"]["schemas"])
    login = spec["paths"]["/login"]["post"]["requestBody"]["content"]
    assert login["application/x-www-form-urlencoded"]["schema"]["title"] == "LoginForm"
