"""GET /metrics over HTTP, on every backend: requests by route template, method and status,
latency, sign-ins by outcome, registrations, refreshes and reuse, Argon2 time, and the
optional METRICS_TOKEN. Counters are read as differences between two scrapes.
"""

from __future__ import annotations

import secrets

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from A_DatabasePackage.settings import Settings
from I_ControllerPackage.app_factory import create_app
from I_ControllerPackage.metrics import render_metrics
from I_ControllerPackage.request_metrics import Exchange, record_exchange
from tests.admin_support import admin_headers, assert_error
from tests.metrics_support import parse, scrape
from tests.session_support import refresh, sign_in
from tests.support import STRONG_PASSWORD, bearer, login, make_settings, register

REQUESTS = "auth_http_requests_total"
DURATION_COUNT = "auth_http_request_duration_seconds_count"
SIGN_INS = "auth_sign_ins_total"
REGISTRATIONS = "auth_registrations_total"
REFRESHES = "auth_token_refreshes_total"
HASH_COUNT = "auth_password_hash_seconds_count"
HASH_SUM = "auth_password_hash_seconds_sum"


def test_requests_are_counted_by_route_template_method_and_status(client: TestClient) -> None:
    user = register(client, "alice")
    token = login(client, "alice")
    unknown_path = f"/no-such-page-{secrets.token_hex(4)}"
    before = scrape(client)
    for _ in range(3):
        assert client.get(f"/users/{user['id']}", headers=bearer(token)).status_code == 200
    assert client.get("/users/999999", headers=bearer(token)).status_code == 403
    assert client.get("/users/me").status_code == 401
    assert client.get(unknown_path).status_code == 404
    assert client.delete("/healthz").status_code == 405
    after = scrape(client)

    route = "/users/{user_id}"
    assert after.minus(before, REQUESTS, route=route, method="GET", status="200") == 3
    assert after.minus(before, REQUESTS, route=route, method="GET", status="403") == 1
    assert after.minus(before, REQUESTS, route="/users/me", method="GET", status="401") == 1
    assert after.minus(before, REQUESTS, route="unmatched", method="GET", status="404") == 1
    assert after.minus(before, REQUESTS, route="/healthz", method="DELETE", status="405") == 1
    assert after.minus(before, DURATION_COUNT, route=route, method="GET") == 4
    # The previous scrape is counted once it has answered.
    assert after.minus(before, REQUESTS, route="/metrics", method="GET", status="200") == 1
    # Raw paths never become labels: the number of series stays bounded.
    assert f'/users/{user["id"]}"' not in after.text
    assert unknown_path not in after.text


def test_refused_bodies_count_under_the_route_they_were_sent_to(client: TestClient) -> None:
    before = scrape(client)
    too_large = client.post(
        "/login", content=b"x" * 20_000, headers={"Content-Type": "application/json"}
    )
    assert too_large.status_code == 413
    not_json = client.post("/register", content=b"a=b", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 415
    after = scrape(client)
    assert after.minus(before, REQUESTS, route="/login", method="POST", status="413") == 1
    assert after.minus(before, REQUESTS, route="/register", method="POST", status="415") == 1
    assert after.minus(before, SIGN_INS, route="/login", outcome="invalid_request") == 1
    assert after.minus(before, REGISTRATIONS, outcome="invalid_request") == 1


def test_sign_ins_by_outcome(app: FastAPI, client: TestClient) -> None:
    register(client, "alice")
    disabled = register(client, "bob")
    admin = admin_headers(app, client)
    response = client.patch(f"/users/{disabled['id']}", headers=admin, json={"is_active": False})
    assert response.status_code == 200, response.text
    before = scrape(client)

    login(client, "alice")
    client.post("/login", data={"username": "alice", "password": STRONG_PASSWORD})
    wrong = client.post("/login", json={"username": "alice", "password": "not the password!"})
    assert_error(wrong, 401, "INVALID_CREDENTIALS")
    unknown = client.post("/login", json={"username": "nobody", "password": STRONG_PASSWORD})
    assert_error(unknown, 401, "INVALID_CREDENTIALS")
    off = client.post("/login", json={"username": "bob", "password": STRONG_PASSWORD})
    assert_error(off, 403, "ACCOUNT_DISABLED")
    assert client.post("/login", json={"username": "alice"}).status_code == 422
    checked = client.post("/users/code", json={"username": "alice", "password": STRONG_PASSWORD})
    assert checked.status_code == 200
    refused = client.post("/users/code", json={"username": "alice", "password": "wrong one 123"})
    assert_error(refused, 401, "INVALID_CREDENTIALS")
    after = scrape(client)

    expected = {
        ("/login", "success"): 2,
        ("/login", "invalid_credentials"): 2,
        ("/login", "disabled"): 1,
        ("/login", "invalid_request"): 1,
        ("/login", "locked"): 0,
        ("/login", "unavailable"): 0,
        ("/users/code", "success"): 1,
        ("/users/code", "invalid_credentials"): 1,
    }
    for (route, outcome), count in expected.items():
        assert after.minus(before, SIGN_INS, route=route, outcome=outcome) == count, (
            route,
            outcome,
        )


def test_registrations_by_outcome(client: TestClient) -> None:
    before = scrape(client)
    register(client, "alice")
    taken = client.post(
        "/register",
        json={"username": "ALICE", "email": "x@example.com", "password": STRONG_PASSWORD},
    )
    assert_error(taken, 409, "USERNAME_TAKEN")
    weak = client.post(
        "/register",
        json={"username": "carol", "email": "c@example.com", "password": "1qaz2wsx3edc"},
    )
    assert_error(weak, 422, "WEAK_PASSWORD")
    invalid = client.post("/register", json={"username": "x", "email": "nope", "password": "p"})
    assert_error(invalid, 422, "VALIDATION_ERROR")
    after = scrape(client)
    for outcome, count in {
        "created": 1,
        "taken": 1,
        "weak_password": 1,
        "invalid_request": 1,
        "unavailable": 0,
    }.items():
        assert after.minus(before, REGISTRATIONS, outcome=outcome) == count, outcome


def test_refreshes_and_reuse_detections(client: TestClient) -> None:
    register(client, "alice")
    first = sign_in(client)
    before = scrape(client)
    second = refresh(client, first["refresh_token"])
    assert second.status_code == 200, second.text
    assert_error(refresh(client, "not-a-refresh-token"), 401, "INVALID_REFRESH_TOKEN")
    assert_error(refresh(client, first["refresh_token"]), 401, "REFRESH_TOKEN_REUSED")
    assert_error(refresh(client, second.json()["refresh_token"]), 401, "INVALID_REFRESH_TOKEN")
    after = scrape(client)
    assert after.minus(before, REFRESHES, outcome="refreshed") == 1
    assert after.minus(before, REFRESHES, outcome="invalid") == 2
    assert after.minus(before, REFRESHES, outcome="reuse_detected") == 1


def test_argon2_time_is_observed_for_hashing_and_verifying(client: TestClient) -> None:
    before = scrape(client)
    register(client, "alice")  # one hash
    login(client, "alice")  # one verification
    client.post("/login", json={"username": "nobody", "password": STRONG_PASSWORD})  # the dummy
    after = scrape(client)
    assert after.minus(before, HASH_COUNT, operation="hash") == 1
    assert after.minus(before, HASH_COUNT, operation="verify") == 2
    assert after.minus(before, HASH_SUM, operation="hash") > 0
    assert after.minus(before, HASH_SUM, operation="verify") > 0


def test_every_outcome_series_exists_before_any_traffic(client: TestClient) -> None:
    names = scrape(client).samples
    for outcome in ("success", "invalid_credentials", "disabled", "locked", "unavailable"):
        assert (SIGN_INS, frozenset({("route", "/login"), ("outcome", outcome)})) in names
    for outcome in ("refreshed", "invalid", "reuse_detected"):
        assert (REFRESHES, frozenset({("outcome", outcome)})) in names


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        (429, "TOO_MANY_REQUESTS", "locked"),
        (503, "SERVICE_UNAVAILABLE", "unavailable"),
        (500, "INTERNAL_ERROR", "error"),
    ],
)
def test_sign_in_outcomes_of_limits_and_failures(status: int, code: str, outcome: str) -> None:
    """429 comes with the abuse limits (another area); the mapping is ready for it."""
    before = parse(_render())
    record_exchange(Exchange("/login", "POST", status, 0.01, code))
    after = parse(_render())
    assert after.minus(before, SIGN_INS, route="/login", outcome=outcome) == 1
    assert after.minus(before, REQUESTS, route="/login", method="POST", status=str(status)) == 1


def _render() -> str:
    return render_metrics().decode()


@pytest.mark.parametrize(
    "unreachable",
    [
        "sqlite:////nonexistent-directory/for/sure/auth.db",
        "postgresql+psycopg2://postgres@127.0.0.1:1/none",
    ],
)
def test_an_outage_counts_as_unavailable(unreachable: str) -> None:
    with TestClient(create_app(make_settings(unreachable, AUTO_MIGRATE=False))) as client:
        before = scrape(client)
        response = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
        assert_error(response, 503, "SERVICE_UNAVAILABLE")
        response = client.post("/token/refresh", json={"refresh_token": "x" * 43})
        assert_error(response, 503, "SERVICE_UNAVAILABLE")
        after = scrape(client)
    assert after.minus(before, SIGN_INS, route="/login", outcome="unavailable") == 1
    assert after.minus(before, REFRESHES, outcome="unavailable") == 1
    assert after.minus(before, REQUESTS, route="/login", method="POST", status="503") == 1


@pytest.fixture
def protected_client(settings: Settings) -> TestClient:
    app = create_app(settings.model_copy(update={"METRICS_TOKEN": SecretStr("scrape-token-1")}))
    return TestClient(app)


def test_metrics_are_open_without_a_metrics_token(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "auth_http_requests_total" in response.text


def test_metrics_token_is_required_when_set(protected_client: TestClient) -> None:
    with protected_client as client:
        assert_error(client.get("/metrics"), 401, "NOT_AUTHENTICATED")
        assert_error(client.get("/metrics", headers=bearer("wrong-token")), 401, "INVALID_TOKEN")
        assert_error(
            client.get("/metrics", headers={"Authorization": "Basic c2NyYXBlLXRva2VuLTE="}),
            401,
            "INVALID_TOKEN",
        )
        assert_error(
            client.get("/metrics", headers=bearer("scrape-token-1x")), 401, "INVALID_TOKEN"
        )
        response = client.get("/metrics", headers={"Authorization": "bearer scrape-token-1"})
        assert response.status_code == 200
        assert "auth_http_requests_total" in response.text
        # The token guards /metrics only.
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
