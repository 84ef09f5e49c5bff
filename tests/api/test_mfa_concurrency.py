"""One code, many requests at once (issue 23): of concurrent second steps presenting the
same TOTP code, or the same recovery code, exactly one succeeds. Real threads over the app,
on every back end (PostgreSQL's row lock, SQLite's write lock)."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient

from A_DatabasePackage.settings import Settings
from tests.mfa_support import current_code, enable_totp, mfa_token, second_step, step_clock
from tests.support import FixedClock, make_settings, register

THREADS = 8


@pytest.fixture
def clock() -> FixedClock:
    return step_clock()


@pytest.fixture
def settings(database_url: str, backend_redis_url: str | None) -> Settings:
    """Failure limits high enough that the losers' wrong-code failures lock nobody out."""
    return make_settings(database_url, REDIS_URL=backend_redis_url, LOGIN_MAX_FAILURES=100)


def race(client: TestClient, bodies: list[dict[str, str]]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(bodies))

    def attempt(body: dict[str, str]) -> httpx.Response:
        barrier.wait(timeout=10)
        response: httpx.Response = client.post("/login/mfa", json=body)
        return response

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        futures = [pool.submit(attempt, body) for body in bodies]
        return [future.result(timeout=120) for future in futures]


def outcomes(responses: list[httpx.Response]) -> Counter[tuple[int, str | None]]:
    return Counter(
        (r.status_code, None if r.status_code == 200 else r.json()["code"]) for r in responses
    )


def test_the_same_totp_code_at_once_succeeds_once(client: TestClient, clock: FixedClock) -> None:
    register(client)
    enrolled = enable_totp(client, clock)
    code = current_code(enrolled.secret, clock)
    tokens = [mfa_token(client) for _ in range(THREADS)]
    responses = race(client, [{"mfa_token": token, "code": code} for token in tokens])
    assert outcomes(responses) == Counter({(200, None): 1, (401, "INVALID_MFA_CODE"): THREADS - 1})


def test_the_same_recovery_code_at_once_succeeds_once(
    client: TestClient, clock: FixedClock
) -> None:
    register(client)
    enrolled = enable_totp(client, clock)
    code = enrolled.recovery_codes[0]
    tokens = [mfa_token(client) for _ in range(THREADS)]
    responses = race(client, [{"mfa_token": token, "recovery_code": code} for token in tokens])
    assert outcomes(responses) == Counter({(200, None): 1, (401, "INVALID_MFA_CODE"): THREADS - 1})
    [winner] = [r for r in responses if r.status_code == 200]
    assert winner.json()["recovery_codes_remaining"] == 9


def test_one_mfa_token_with_different_codes_at_once_opens_one_session(
    client: TestClient, clock: FixedClock
) -> None:
    """The previous, current and next step's codes are all valid; one mfa token is spent by
    whichever commits first, and the others find it spent (or their step outdated)."""
    register(client)
    enrolled = enable_totp(client, clock)
    token = mfa_token(client)
    codes = [current_code(enrolled.secret, clock, steps=s) for s in (-1, 0, 1)]
    responses = race(client, [{"mfa_token": token, "code": code} for code in codes])
    assert [r.status_code for r in responses].count(200) == 1
    assert {r.json()["code"] for r in responses if r.status_code != 200} <= {
        "INVALID_MFA_TOKEN",
        "INVALID_MFA_CODE",
    }
    assert second_step(client, token, code=codes[2]).status_code == 401
