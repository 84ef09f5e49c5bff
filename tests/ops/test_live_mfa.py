"""Two-factor sign-in against a real uvicorn process (the README's two-step flow), and the
same code sent by many clients at once over real HTTP: exactly one signs in. The server keeps
its own time, so codes come from the system clock (the window of one step either way covers
a step boundary passed during the test)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pyotp
import pytest

from tests.live_server import PROJECT_ROOT, live_server, settings_env
from tests.support import STRONG_PASSWORD

pytestmark = pytest.mark.backends("sqlite", "postgresql")

RACERS = 8
CREDENTIALS = {"username": "alice", "password": STRONG_PASSWORD}


def _enable_totp(client: httpx.Client) -> tuple[str, float]:
    """The secret, and the moment whose code turned TOTP on (its step is spent)."""
    account = {"username": "alice", "email": "alice@example.com", "password": STRONG_PASSWORD}
    assert client.post("/register", json=account).status_code == 201
    token = client.post("/login", json=CREDENTIALS).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    enrolled = client.post("/mfa/totp/enroll", json={"password": STRONG_PASSWORD}, headers=headers)
    assert enrolled.status_code == 200, enrolled.text
    secret: str = enrolled.json()["secret"]
    moment = time.time()
    code = pyotp.TOTP(secret).at(moment)
    confirmed = client.post("/mfa/totp/confirm", json={"code": code}, headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    return secret, moment


def test_the_two_step_sign_in_and_a_racing_code_over_http(
    database_url: str, tmp_path: Path
) -> None:
    with live_server(settings_env(database_url), PROJECT_ROOT, tmp_path) as server:
        with server.client() as client:
            secret, confirmed_at = _enable_totp(client)
            tokens = [client.post("/login", json=CREDENTIALS).json() for _ in range(RACERS)]
        assert all(token["mfa_required"] is True for token in tokens)
        # The next step's code: later than the spent one, and within the server's window.
        code = pyotp.TOTP(secret).at(confirmed_at + 30)
        responses = server.race(
            "/login/mfa", [{"mfa_token": t["mfa_token"], "code": code} for t in tokens]
        )
        assert "Traceback" not in server.output()
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [401] * (RACERS - 1), [r.text for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 401} == {"INVALID_MFA_CODE"}
