"""GET /readyz: 200 with each dependency checked, or 503 SERVICE_UNAVAILABLE naming what failed
(refused, hung or stopped), within its timeout; GET /healthz never touches a dependency.

Redis outages use a private redis-server (tests/private_redis.py);
a hung dependency is a local socket that accepts connections and never answers.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from I_ControllerPackage.app_factory import create_app
from I_ControllerPackage.readiness import READINESS_TIMEOUT_SECONDS
from tests.live_server import free_port
from tests.private_redis import PrivateRedis
from tests.support import make_settings

# The answer may take the check's timeout plus scheduling on a busy machine, never the
# driver's own timeouts (5 s to connect to PostgreSQL).
ANSWER_WITHIN_SECONDS = READINESS_TIMEOUT_SECONDS + 1.5
UNREACHABLE_DATABASES = {
    "sqlite": "sqlite:////nonexistent-directory/for/sure/auth.db",
    "postgresql": "postgresql+psycopg2://postgres@127.0.0.1:1/none",
}


def not_ready(*failed: str, checks: dict[str, str]) -> dict[str, Any]:
    return {
        "detail": f"Not ready: {' and '.join(failed)} unavailable.",
        "code": "SERVICE_UNAVAILABLE",
        "status": "unavailable",
        "checks": checks,
    }


@contextmanager
def hung_server() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel completes them) and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


def timed_get(client: TestClient, path: str) -> tuple[int, Any, float]:
    started = time.monotonic()
    response = client.get(path)
    return response.status_code, response.json(), time.monotonic() - started


def test_ready_names_each_configured_dependency(client: TestClient, backend: str) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    checks = {"database": "ok", "redis": "ok"} if backend.endswith("+redis") else {"database": "ok"}
    assert response.json() == {"status": "ok", "checks": checks}
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.backends("sqlite", "postgresql")
def test_unreachable_database_is_not_ready_but_alive(backend: str) -> None:
    app = create_app(make_settings(UNREACHABLE_DATABASES[backend], AUTO_MIGRATE=False))
    with TestClient(app) as client:
        status, body, seconds = timed_get(client, "/readyz")
        assert status == 503
        assert body == not_ready("database", checks={"database": "unavailable"})
        assert seconds < ANSWER_WITHIN_SECONDS
        assert client.get("/healthz").status_code == 200


def test_a_hung_database_is_not_ready_within_the_timeout() -> None:
    with hung_server() as port:
        url = f"postgresql+psycopg2://postgres@127.0.0.1:{port}/hung"
        with TestClient(create_app(make_settings(url, AUTO_MIGRATE=False))) as client:
            status, body, seconds = timed_get(client, "/readyz")
            assert status == 503
            assert body == not_ready("database", checks={"database": "unavailable"})
            assert seconds < ANSWER_WITHIN_SECONDS
            status, _, seconds = timed_get(client, "/healthz")
            assert status == 200
            assert seconds < 1.0


@pytest.mark.backends("sqlite", "postgresql")
def test_a_redis_outage_is_not_ready_and_recovers(
    database_url: str, private_redis: PrivateRedis
) -> None:
    app = create_app(make_settings(database_url, REDIS_URL=private_redis.url))
    with TestClient(app) as client:
        assert client.get("/readyz").json() == {
            "status": "ok",
            "checks": {"database": "ok", "redis": "ok"},
        }
        private_redis.stop()
        status, body, seconds = timed_get(client, "/readyz")
        assert status == 503
        assert body == not_ready("redis", checks={"database": "ok", "redis": "unavailable"})
        assert seconds < ANSWER_WITHIN_SECONDS
        assert client.get("/healthz").status_code == 200

        private_redis.start()
        assert client.get("/readyz").json() == {
            "status": "ok",
            "checks": {"database": "ok", "redis": "ok"},
        }


@pytest.mark.backends("sqlite", "postgresql")
def test_a_hung_redis_is_not_ready_within_the_timeout(database_url: str) -> None:
    with hung_server() as port:
        app = create_app(make_settings(database_url, REDIS_URL=f"redis://127.0.0.1:{port}/0"))
        with TestClient(app) as client:
            status, body, seconds = timed_get(client, "/readyz")
    assert status == 503
    assert body == not_ready("redis", checks={"database": "ok", "redis": "unavailable"})
    assert seconds < ANSWER_WITHIN_SECONDS


def test_both_down_names_both() -> None:
    settings = make_settings(
        UNREACHABLE_DATABASES["postgresql"],
        AUTO_MIGRATE=False,
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
    )
    with TestClient(create_app(settings)) as client:
        status, body, _ = timed_get(client, "/readyz")
    assert status == 503
    assert body == not_ready(
        "database", "redis", checks={"database": "unavailable", "redis": "unavailable"}
    )


def test_openapi_documents_the_probes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    guard = {"413", "415", "422"}  # the request guard can answer these on any route
    assert set(paths["/readyz"]["get"]["responses"]) == {"200", "503", *guard}
    assert set(paths["/healthz"]["get"]["responses"]) == {"200", *guard}
    assert set(paths["/metrics"]["get"]["responses"]) == {"200", "401", *guard}
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]
