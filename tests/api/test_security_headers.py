"""Security headers on every response (errors and 500s included), the docs' own policy, HSTS
over HTTPS only, and CORS headers on the answers that middleware gives (413, 415, 429)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient

from A_DatabasePackage.settings import Settings
from I_ControllerPackage.app_factory import create_app
from I_ControllerPackage.security_headers import API_CSP, DOCS_CSP, is_docs_path
from tests.support import STRONG_PASSWORD, FakeClock, register

BASE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
ORIGIN = "https://app.example.com"


@pytest.fixture
def app(settings: Settings, clock: FakeClock) -> FastAPI:
    application = create_app(settings, clock)

    @application.get("/boom")
    def boom() -> None:
        raise RuntimeError("broken on purpose")

    @application.get("/cacheable")
    def cacheable() -> Response:
        return Response(
            "{}", media_type="application/json", headers={"Cache-Control": "max-age=60"}
        )

    return application


@pytest.fixture
def client(app: FastAPI) -> Any:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def assert_api_headers(response: Any) -> None:
    for name, value in BASE.items():
        assert response.headers.get_list(name) == [value], (name, response.status_code)
    assert response.headers.get_list("content-security-policy") == [API_CSP]
    assert response.headers.get_list("cache-control") == ["no-store"]
    assert "strict-transport-security" not in response.headers
    assert "server" not in response.headers


def test_every_kind_of_api_answer_carries_them(client: TestClient) -> None:
    register(client, "alice")
    sent = {"username": "alice", "password": STRONG_PASSWORD}
    answers = {
        200: client.get("/healthz"),
        201: client.post(
            "/register",
            json={"username": "bob", "email": "bob@example.com", "password": STRONG_PASSWORD},
        ),
        401: client.get("/users/me"),
        404: client.get("/no/such/route"),
        405: client.delete("/healthz"),
        413: client.post("/login", content=b"x" * 20000, headers={"Content-Type": "text/plain"}),
        415: client.post("/register", content=b"x", headers={"Content-Type": "text/plain"}),
        422: client.post("/register", json={}),
        500: client.get("/boom"),
    }
    for _ in range(5):
        client.post("/login", json={**sent, "password": "wrong password here"})
    answers[429] = client.post("/login", json=sent)
    for status, response in answers.items():
        assert response.status_code == status, response.text
        assert_api_headers(response)
    assert answers[500].json() == {"detail": "Internal server error.", "code": "INTERNAL_ERROR"}


def test_token_responses_keep_a_single_no_store(client: TestClient) -> None:
    register(client, "alice")
    response = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
    assert response.status_code == 200
    assert_api_headers(response)
    assert response.headers["pragma"] == "no-cache"


def test_a_route_may_set_its_own_cache_control(client: TestClient) -> None:
    response = client.get("/cacheable")
    assert response.headers.get_list("cache-control") == ["max-age=60"]
    assert response.headers["content-security-policy"] == API_CSP


@pytest.mark.parametrize(
    "path", ["/docs", "/redoc", "/docs/oauth2-redirect", "/static/docs/swagger-ui.css"]
)
def test_the_docs_get_a_policy_that_lets_them_run(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers.get_list("content-security-policy") == [DOCS_CSP]
    for name, value in BASE.items():
        assert response.headers[name] == value
    if path.startswith("/static/"):
        assert "cache-control" not in response.headers  # the bundles may be cached
    else:
        assert response.headers["cache-control"] == "no-store"


def test_the_api_description_gets_the_api_policy(client: TestClient) -> None:
    assert client.get("/openapi.json").headers["content-security-policy"] == API_CSP


def test_docs_paths() -> None:
    assert all(is_docs_path(p) for p in ("/docs", "/redoc", "/docs/oauth2-redirect"))
    assert is_docs_path("/static/docs/redoc.standalone.js")
    assert not any(is_docs_path(p) for p in ("/docsx", "/users/docs", "/static/other", "/"))


def test_docs_paths_under_a_root_path(settings: Settings) -> None:
    with TestClient(create_app(settings), root_path="/auth") as client:
        response = client.get("/auth/docs")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == DOCS_CSP


def test_hsts_only_over_https(settings: Settings) -> None:
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        response = client.get("/healthz")
    assert response.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in response.headers  # the peer is not trusted


def test_hsts_when_a_trusted_proxy_terminates_https(settings: Settings) -> None:
    trusting = settings.model_copy(update={"TRUSTED_PROXIES": "10.0.0.0/8"})
    with TestClient(create_app(trusting), client=("10.1.2.3", 40000)) as client:
        behind_https = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
        behind_http = client.get("/healthz", headers={"X-Forwarded-Proto": "http"})
    assert "strict-transport-security" in behind_https.headers
    assert "strict-transport-security" not in behind_http.headers


@pytest.fixture
def cors_client(settings: Settings, clock: FakeClock) -> Any:
    app = create_app(settings.model_copy(update={"CORS_ORIGINS": ORIGIN}), clock)
    with TestClient(app, headers={"Origin": ORIGIN}) as client:
        yield client


def test_cors_headers_on_middleware_and_limit_answers(cors_client: TestClient) -> None:
    too_large = cors_client.post(
        "/login", content=b"{" * 20000, headers={"Content-Type": "application/json"}
    )
    unsupported = cors_client.post("/login", content=b"x", headers={"Content-Type": "text/csv"})
    register(cors_client, "alice")
    for _ in range(5):
        cors_client.post("/login", json={"username": "alice", "password": "wrong password!!"})
    limited = cors_client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
    for response, status in ((too_large, 413), (unsupported, 415), (limited, 429)):
        assert response.status_code == status
        assert response.headers["access-control-allow-origin"] == ORIGIN
        assert response.headers["x-content-type-options"] == "nosniff"
    exposed = limited.headers["access-control-expose-headers"].lower()
    assert "retry-after" in exposed
    assert limited.headers["retry-after"].isdigit()
