"""Error bodies for outages and bugs, CORS, the OpenAPI description and the settings listing."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from A_DatabasePackage.settings import Settings
from I_ControllerPackage.app_factory import create_app
from tests.support import STRONG_PASSWORD, bearer, login, make_settings, register

LEAK_MARKERS = ("Traceback", "psycopg2", "sqlite3", "SELECT", "/work", ".py", "connection to")


@pytest.mark.parametrize(
    "unreachable_url",
    [
        "postgresql+psycopg2://postgres@127.0.0.1:1/none",
        "sqlite:////nonexistent-directory/for/sure/auth.db",
    ],
)
def test_unreachable_database_is_503_without_details(unreachable_url: str) -> None:
    app = create_app(make_settings(unreachable_url, AUTO_MIGRATE=False))
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, path, body in [
            ("POST", "/login", {"username": "alice", "password": STRONG_PASSWORD}),
            (
                "POST",
                "/register",
                {"username": "alice", "email": "a@example.com", "password": STRONG_PASSWORD},
            ),
        ]:
            response = client.request(method, path, json=body)
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "SERVICE_UNAVAILABLE"
            for marker in LEAK_MARKERS:
                assert marker not in response.text
        assert client.get("/healthz").status_code == 200


def test_unexpected_error_is_a_bare_500(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("SELECT secret FROM /work/main/file.py")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error.", "code": "INTERNAL_ERROR"}


def test_logs_never_carry_passwords_hashes_or_tokens(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    register(client, "alice")
    token = login(client, "alice")
    client.post("/login", json={"username": "alice", "password": "wrong " + STRONG_PASSWORD})
    client.post(
        "/register",
        json={"username": "alice", "email": "x@example.com", "password": STRONG_PASSWORD},
    )
    client.get("/users/me", headers=bearer(token))
    client.put(
        "/update",
        headers=bearer(token),
        json={"new_password": "another long secret 99", "current_password": "nope nope nope"},
    )
    text = caplog.text
    for secret in (STRONG_PASSWORD, token, "$argon2id$", "another long secret 99"):
        assert secret not in text


@pytest.fixture
def cors_app(settings: Settings) -> FastAPI:
    return create_app(
        settings.model_copy(
            update={"CORS_ORIGINS": "https://app.example.com, https://b.example.com"}
        )
    )


def test_cors_allows_only_configured_origins(cors_app: FastAPI) -> None:
    with TestClient(cors_app) as client:
        preflight = client.options(
            "/login",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,authorization",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()

        refused = client.options(
            "/login",
            headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in refused.headers

        simple = client.get("/healthz", headers={"Origin": "https://b.example.com"})
        assert simple.headers["access-control-allow-origin"] == "https://b.example.com"


def test_no_cors_headers_without_configured_origins(client: TestClient) -> None:
    response = client.get("/healthz", headers={"Origin": "https://app.example.com"})
    assert "access-control-allow-origin" not in response.headers


def test_openapi_declares_oauth2_password_flow_and_errors(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    flow = next(iter(schemes.values()))["flows"]["password"]
    assert flow["tokenUrl"] == "login"
    login_body = spec["paths"]["/login"]["post"]["requestBody"]["content"]
    assert set(login_body) == {"application/json", "application/x-www-form-urlencoded"}
    expected = {
        ("/register", "post"): {"201", "409", "413", "415", "422", "503"},
        ("/login", "post"): {"200", "401", "403", "422", "503"},
        ("/users", "get"): {"200", "401", "403", "422"},
        ("/users/{user_id}", "get"): {"200", "401", "403", "404"},
        ("/users/{user_id}", "patch"): {"200", "404", "409", "422"},
        ("/users/{user_id}", "delete"): {"204", "404", "409"},
        ("/update", "put"): {"200", "401", "403", "409", "422"},
        ("/delete", "delete"): {"204", "401", "403", "409"},
        ("/users/me", "get"): {"200", "401"},
    }
    for (path, method), statuses in expected.items():
        declared = set(spec["paths"][path][method]["responses"])
        assert statuses <= declared, (path, method, statuses - declared)


def test_env_example_lists_every_setting(project_root: Path) -> None:
    text = (project_root / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))
    assert set(Settings.model_fields) <= listed
    assert listed <= set(Settings.model_fields)
