"""X-Request-ID: taken from the client when sane, else a new UUID4; echoed on every response
(500s and CORS responses included) and carried by the application events of that request."""

from __future__ import annotations

import json
import multiprocessing
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from A_DatabasePackage.settings import Settings
from I_ControllerPackage.app_factory import create_app
from I_ControllerPackage.observability_middleware import new_request_id
from tests.support import STRONG_PASSWORD, make_settings


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(
    "incoming",
    [b"", b" ", b"a" * 129, b"has space", b"semi;colon", b"back\\slash", "é".encode(), b"<b>"],
)
def test_an_unusable_request_id_is_replaced_by_a_new_uuid(
    client: TestClient, incoming: bytes
) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": incoming})
    echoed = response.headers["x-request-id"]
    assert echoed.encode() != incoming
    assert uuid.UUID(echoed).version == 4


@pytest.mark.parametrize(
    "incoming", ["a", "0f8fad5b-d9cb-469f-a165-70867728950e", "trace.42:span_7-x", "b" * 128]
)
def test_a_sane_request_id_is_kept_and_echoed(client: TestClient, incoming: str) -> None:
    response = client.get("/users/me", headers={"X-Request-ID": incoming})
    assert response.status_code == 401
    assert response.headers["x-request-id"] == incoming


def test_every_response_gets_its_own_id(client: TestClient) -> None:
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(20)}
    assert len(ids) == 20


def test_application_events_carry_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings("postgresql+psycopg2://postgres@127.0.0.1:1/none", AUTO_MIGRATE=False)
    with TestClient(create_app(settings)) as client:
        capsys.readouterr()
        response = client.post(
            "/login",
            json={"username": "alice", "password": STRONG_PASSWORD},
            headers={"X-Request-ID": "outage-1"},
        )
    assert response.status_code == 503
    records = [r for r in json_lines(capsys.readouterr().out) if r.get("request_id") == "outage-1"]
    assert [(r["logger"], r["level"], r["message"]) for r in records] == [
        ("auth_service.errors", "WARNING", "database unavailable: OperationalError"),
        ("auth_service.requests", "WARNING", "request"),
    ]
    assert records[1]["status"] == 503
    assert records[1]["error_code"] == "SERVICE_UNAVAILABLE"
    assert STRONG_PASSWORD not in json.dumps(records)


def test_an_unexpected_error_is_logged_with_its_request_id(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        capsys.readouterr()
        response = client.get("/boom", headers={"X-Request-ID": "bug-1"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "bug-1"
    records = [r for r in json_lines(capsys.readouterr().out) if r.get("request_id") == "bug-1"]
    assert {(r["logger"], r["level"]) for r in records} == {
        ("auth_service.requests", "ERROR"),
        ("auth_service.errors", "ERROR"),
    }
    request = next(r for r in records if r["logger"] == "auth_service.requests")
    assert (request["route"], request["status"], request["error_code"]) == ("/boom", 500, None)
    event = next(r for r in records if r["logger"] == "auth_service.errors")
    assert "RuntimeError" in event["exception"]


def test_browsers_may_read_the_request_id(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"CORS_ORIGINS": "https://app.example.com"}))
    with TestClient(app) as client:
        response = client.get("/healthz", headers={"Origin": "https://app.example.com"})
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed
    assert response.headers["x-request-id"]


def _ids_of_a_forked_child(count: int) -> list[str]:
    return [new_request_id() for _ in range(count)]


def test_new_request_ids_differ_between_calls_and_between_forked_workers() -> None:
    """The ids come from `random`, which each process seeds afresh (gunicorn forks its
    workers), so two workers never repeat each other's ids."""
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        child = pool.apply(_ids_of_a_forked_child, (500,))
    parent = _ids_of_a_forked_child(500)
    assert len(set(parent)) == len(set(child)) == 500
    assert not set(parent) & set(child)
    assert {uuid.UUID(made).version for made in parent + child} == {4}
