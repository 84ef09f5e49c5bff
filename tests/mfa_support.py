"""Helpers of the two-factor tests: a clock the test moves by whole TOTP steps, enrollment
over HTTP, and the codes an authenticator app would show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from fastapi.testclient import TestClient

from E_SecurityPackage.second_factor import TOTP_STEP_SECONDS, time_step, totp_code
from tests.support import STRONG_PASSWORD, FixedClock, bearer


def step_clock() -> FixedClock:
    """Fixed at the start of the current 30-second step, plus 10 seconds: codes computed
    from it never cross a step boundary while a test runs."""
    now = int(datetime.now(UTC).timestamp())
    start = now - now % TOTP_STEP_SECONDS + 10
    return FixedClock(datetime.fromtimestamp(start, UTC))


def advance(clock: FixedClock, **delta: float) -> None:
    clock.moment += timedelta(**delta)


def current_code(secret: str, clock: FixedClock, steps: int = 0) -> str:
    """The code of the clock's step, or of `steps` steps later (negative: earlier)."""
    return totp_code(secret, time_step(clock.now()) + steps)


@dataclass
class Enrolled:
    """An account with TOTP on: its secret, recovery codes and the signed-in session used."""

    secret: str
    recovery_codes: list[str]
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access_token)


def password_sign_in(
    client: TestClient | httpx.Client, username: str = "alice", password: str = STRONG_PASSWORD
) -> httpx.Response:
    return client.post("/login", json={"username": username, "password": password})


def enroll(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.post("/mfa/totp/enroll", json={"password": STRONG_PASSWORD}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def secret_of_uri(uri: str) -> str:
    return parse_qs(urlparse(uri).query)["secret"][0]


def enable_totp(client: TestClient, clock: FixedClock, username: str = "alice") -> Enrolled:
    """Sign in with the password, enroll, confirm with the current code. The clock then moves
    to the next step, so the confirmation's code is spent and the next one is fresh."""
    tokens = password_sign_in(client, username).json()
    headers = bearer(tokens["access_token"])
    secret = enroll(client, headers)["secret"]
    confirmed = client.post(
        "/mfa/totp/confirm", json={"code": current_code(secret, clock)}, headers=headers
    )
    assert confirmed.status_code == 200, confirmed.text
    advance(clock, seconds=TOTP_STEP_SECONDS)
    return Enrolled(
        secret,
        confirmed.json()["recovery_codes"],
        tokens["access_token"],
        tokens["refresh_token"],
    )


def mfa_token(client: TestClient | httpx.Client, username: str = "alice") -> str:
    response = password_sign_in(client, username)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mfa_required"] is True, body
    token: str = body["mfa_token"]
    return token


def second_step(client: TestClient | httpx.Client, token: str, **code: str) -> httpx.Response:
    return client.post("/login/mfa", json={"mfa_token": token, **code})


def two_step_sign_in(
    client: TestClient, secret: str, clock: FixedClock, username: str = "alice"
) -> dict[str, Any]:
    """Both steps with the current code; the clock then moves on a step."""
    response = second_step(client, mfa_token(client, username), code=current_code(secret, clock))
    assert response.status_code == 200, response.text
    advance(clock, seconds=TOTP_STEP_SECONDS)
    body: dict[str, Any] = response.json()
    return body
