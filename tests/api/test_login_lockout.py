"""Failed sign-ins through HTTP: the three counters, 429 with Retry-After, the right password
refused while locked, expiry (the injected clock; a short real window on Redis), /users/code,
/update and /delete, /register per address, RATE_LIMIT_ENABLED=false and a Redis outage.

Clients sign in through a trusted proxy (127.0.0.1, TRUSTED_PROXIES) so each request can
name its own client address in X-Forwarded-For.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from A_DatabasePackage.settings import Settings
from I_ControllerPackage.app_factory import create_app
from tests.fakes import CountingHasher
from tests.support import (
    OTHER_STRONG_PASSWORD,
    STRONG_PASSWORD,
    FakeClock,
    bearer,
    make_settings,
    register,
)

WRONG = "not the password at all"
ATTACKER = "198.51.100.66"
VICTIM = "203.0.113.10"


def limited(settings: Settings, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"TRUSTED_PROXIES": "127.0.0.1", **overrides}
    return settings.model_copy(update=values)


@pytest.fixture
def proxied(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    """The default limits (5 / 100 / 100 in 900 s), behind a trusted proxy."""
    with TestClient(create_app(limited(settings), clock), client=("127.0.0.1", 40000)) as client:
        yield client


def sign_in(
    client: TestClient,
    username: str = "alice",
    password: str = WRONG,
    address: str = ATTACKER,
    path: str = "/login",
) -> Any:
    return client.post(
        path,
        json={"username": username, "password": password},
        headers={"X-Forwarded-For": address},
    )


def assert_too_many(response: Any, longest: int) -> int:
    assert response.status_code == 429, response.text
    assert response.json() == {
        "detail": "Too many attempts; try again later.",
        "code": "TOO_MANY_REQUESTS",
    }
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= longest
    return retry_after


def test_five_failures_lock_the_pair_and_the_right_password_is_refused(
    proxied: TestClient,
) -> None:
    register(proxied, "alice")
    for _ in range(5):
        response = sign_in(proxied)
        assert response.status_code == 401
        assert response.json()["code"] == "INVALID_CREDENTIALS"
    assert assert_too_many(sign_in(proxied, password=STRONG_PASSWORD), 900) >= 890
    assert_too_many(sign_in(proxied), 900)
    assert_too_many(sign_in(proxied, path="/users/code", password=STRONG_PASSWORD), 900)


def test_the_victim_signs_in_from_elsewhere_while_the_attacker_is_locked(
    proxied: TestClient,
) -> None:
    register(proxied, "alice")
    for _ in range(5):
        sign_in(proxied)
    assert sign_in(proxied).status_code == 429
    assert sign_in(proxied, password=STRONG_PASSWORD, address=VICTIM).status_code == 200
    assert sign_in(proxied, address=VICTIM).status_code == 401


def test_lockout_ends_when_the_window_passes(
    settings: Settings, clock: FakeClock, backend: str
) -> None:
    """Memory: the injected clock moves past the window. Redis (whose scripts take this
    host's real time): a two-second window."""
    window = 2 if backend.endswith("+redis") else 900
    app = create_app(limited(settings, LOGIN_FAILURE_WINDOW_SECONDS=window), clock)
    with TestClient(app, client=("127.0.0.1", 40000)) as client:
        register(client, "alice")
        for _ in range(5):
            assert sign_in(client).status_code == 401
        retry_after = assert_too_many(sign_in(client, password=STRONG_PASSWORD), window)
        if backend.endswith("+redis"):
            time.sleep(retry_after + 0.2)
        else:
            clock.advance(seconds=window - 1)
            assert sign_in(client, password=STRONG_PASSWORD).status_code == 429
            clock.advance(seconds=1)
        assert sign_in(client, password=STRONG_PASSWORD).status_code == 200


def test_a_locked_window_costs_no_hashing(settings: Settings, clock: FakeClock) -> None:
    app = create_app(limited(settings), clock)
    hasher = CountingHasher(settings.ARGON2_MEMORY_KIB, settings.ARGON2_TIME_COST, 1)
    app.state.security = dataclasses.replace(app.state.security, hasher=hasher)
    with TestClient(app, client=("127.0.0.1", 40000)) as client:
        register(client, "alice")
        for _ in range(5):
            sign_in(client)
        hasher.calls.clear()
        for index in range(20):
            assert sign_in(client, password=STRONG_PASSWORD).status_code == 429
            assert sign_in(client, f"nobody{index}").status_code == 401  # not locked: hashed
    assert hasher.calls == ["verify_unknown_user"] * 20


def test_username_and_email_share_one_budget(proxied: TestClient) -> None:
    register(proxied, "alice")
    for name in ("alice", "ALICE", "alice@example.com", "Alice@Example.com", "alice"):
        assert sign_in(proxied, name).status_code == 401
    assert sign_in(proxied, "alice@example.com", STRONG_PASSWORD).status_code == 429


def test_login_and_users_code_share_one_budget(proxied: TestClient) -> None:
    register(proxied, "alice")
    for path in ("/login", "/users/code", "/login", "/users/code", "/users/code"):
        assert sign_in(proxied, path=path).status_code == 401
    assert sign_in(proxied, password=STRONG_PASSWORD).status_code == 429


def test_unknown_names_are_counted_too(proxied: TestClient) -> None:
    for _ in range(5):
        assert sign_in(proxied, "ghost").status_code == 401
    assert sign_in(proxied, "GHOST").status_code == 429
    assert sign_in(proxied, "another-ghost").status_code == 401


def test_a_success_clears_the_pair_counter(proxied: TestClient) -> None:
    register(proxied, "alice")
    for _ in range(4):
        sign_in(proxied)
    assert sign_in(proxied, password=STRONG_PASSWORD).status_code == 200
    for _ in range(4):
        assert sign_in(proxied).status_code == 401
    assert sign_in(proxied, password=STRONG_PASSWORD).status_code == 200


def test_the_account_limit_counts_failures_from_every_address(
    settings: Settings, clock: FakeClock
) -> None:
    app = create_app(limited(settings, LOGIN_MAX_FAILURES_PER_ACCOUNT=8), clock)
    with TestClient(app, client=("127.0.0.1", 40000)) as client:
        register(client, "alice")
        for index in range(8):
            assert sign_in(client, address=f"198.51.100.{index}").status_code == 401
        assert_too_many(sign_in(client, password=STRONG_PASSWORD, address=VICTIM), 900)
        register(client, "bob")
        assert sign_in(client, "bob", STRONG_PASSWORD, address=VICTIM).status_code == 200


def test_the_address_limit_counts_failures_over_every_account(
    settings: Settings, clock: FakeClock
) -> None:
    app = create_app(limited(settings, LOGIN_MAX_FAILURES_PER_ADDRESS=7), clock)
    with TestClient(app, client=("127.0.0.1", 40000)) as client:
        register(client, "alice")
        for index in range(7):
            assert sign_in(client, f"ghost{index}").status_code == 401
        assert_too_many(sign_in(client, password=STRONG_PASSWORD), 900)
        assert sign_in(client, password=STRONG_PASSWORD, address=VICTIM).status_code == 200


def test_a_spoofed_forwarded_for_does_not_reset_the_count(
    settings: Settings, clock: FakeClock
) -> None:
    """From an untrusted peer, every request counts against the peer, whatever it claims."""
    with TestClient(create_app(settings, clock), client=("192.0.2.200", 40000)) as client:
        register(client, "alice")
        for index in range(5):
            assert sign_in(client, address=f"198.51.100.{index}").status_code == 401
        assert sign_in(client, password=STRONG_PASSWORD, address=VICTIM).status_code == 429


def test_wrong_current_passwords_on_update_and_delete_count(proxied: TestClient) -> None:
    register(proxied, "alice")
    token = sign_in(proxied, password=STRONG_PASSWORD).json()["access_token"]
    headers = {**bearer(token), "X-Forwarded-For": ATTACKER}
    for _ in range(2):
        response = proxied.put(
            "/update",
            headers=headers,
            json={"email": "new@example.com", "current_password": WRONG},
        )
        assert response.status_code == 403
        assert response.json()["code"] == "INVALID_CURRENT_PASSWORD"
    for _ in range(2):
        response = proxied.request("DELETE", "/delete", headers=headers, json={"password": WRONG})
        assert response.status_code == 403
    assert sign_in(proxied).status_code == 401  # the fifth failure
    right = {"new_password": OTHER_STRONG_PASSWORD, "current_password": STRONG_PASSWORD}
    assert_too_many(proxied.put("/update", headers=headers, json=right), 900)
    gone = proxied.request("DELETE", "/delete", headers=headers, json={"password": STRONG_PASSWORD})
    assert_too_many(gone, 900)
    assert proxied.get("/users/me", headers=bearer(token)).status_code == 200
    # a change that needs no password is not a password attempt
    renamed = proxied.put("/update", headers=headers, json={"full_name": "Alice L."})
    assert renamed.status_code == 200


def test_a_right_current_password_clears_the_pair_counter(proxied: TestClient) -> None:
    register(proxied, "alice")
    token = sign_in(proxied, password=STRONG_PASSWORD).json()["access_token"]
    headers = {**bearer(token), "X-Forwarded-For": ATTACKER}
    for _ in range(4):
        sign_in(proxied)
    changed = proxied.put(
        "/update",
        headers=headers,
        json={"email": "alice2@example.com", "current_password": STRONG_PASSWORD},
    )
    assert changed.status_code == 200
    for _ in range(4):
        assert sign_in(proxied).status_code == 401


def test_register_is_limited_per_address(proxied: TestClient) -> None:
    for index in range(10):
        response = proxied.post(
            "/register",
            json={
                "username": f"user{index}",
                "email": f"user{index}@example.com",
                "password": STRONG_PASSWORD,
            },
            headers={"X-Forwarded-For": ATTACKER},
        )
        assert response.status_code == 201, response.text
    refused = proxied.post(
        "/register",
        json={"username": "late", "email": "late@example.com", "password": STRONG_PASSWORD},
        headers={"X-Forwarded-For": ATTACKER},
    )
    assert assert_too_many(refused, 60) >= 50
    elsewhere = proxied.post(
        "/register",
        json={"username": "late", "email": "late@example.com", "password": STRONG_PASSWORD},
        headers={"X-Forwarded-For": VICTIM},
    )
    assert elsewhere.status_code == 201


def test_register_limit_counts_refused_attempts_and_expires(
    settings: Settings, clock: FakeClock, backend: str
) -> None:
    """Memory: the injected clock passes an hour. Redis: a two-second window, really waited."""
    on_redis = backend.endswith("+redis")
    limit = "2/2 seconds" if on_redis else "2/hour"
    app = create_app(limited(settings, REGISTER_RATE_LIMIT=limit), clock)
    with TestClient(app, client=("127.0.0.1", 40000)) as client:
        body = {"username": "alice", "email": "alice@example.com", "password": STRONG_PASSWORD}
        assert client.post("/register", json=body).status_code == 201
        assert client.post("/register", json=body).status_code == 409
        refused = client.post("/register", json=body)
        retry_after = assert_too_many(refused, 2 if on_redis else 3600)
        if on_redis:
            time.sleep(retry_after + 0.2)
        else:
            clock.advance(hours=1)
        body = {"username": "bob", "email": "bob@example.com", "password": STRONG_PASSWORD}
        assert client.post("/register", json=body).status_code == 201


def test_limits_off(settings: Settings, clock: FakeClock) -> None:
    app = create_app(limited(settings, RATE_LIMIT_ENABLED=False), clock)
    with TestClient(app, client=("127.0.0.1", 40000)) as client:
        register(client, "alice")
        for _ in range(30):
            assert sign_in(client).status_code == 401
        assert sign_in(client, password=STRONG_PASSWORD).status_code == 200
        for index in range(15):
            register(client, f"user{index}")


@pytest.fixture
def unreachable_redis_app(database_url: str) -> FastAPI:
    return create_app(make_settings(database_url, REDIS_URL="redis://127.0.0.1:1/0"))


def test_a_rate_limit_store_outage_is_503(unreachable_redis_app: FastAPI) -> None:
    with TestClient(unreachable_redis_app) as client:
        for path, body in (
            ("/login", {"username": "alice", "password": STRONG_PASSWORD}),
            ("/users/code", {"username": "alice", "password": STRONG_PASSWORD}),
            (
                "/register",
                {"username": "alice", "email": "a@example.com", "password": STRONG_PASSWORD},
            ),
        ):
            response = client.post(path, json=body)
            assert response.status_code == 503, response.text
            assert response.json() == {
                "detail": "The rate-limit store is unavailable; try again shortly.",
                "code": "SERVICE_UNAVAILABLE",
            }
        assert client.get("/healthz").status_code == 200
