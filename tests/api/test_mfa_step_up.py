"""Step-up (issue 23): turning TOTP off, new recovery codes, and an email or password change
through PUT /update need a fresh second factor when TOTP is on; wrong codes count in the
sign-in failure limits, at /login/mfa as everywhere else."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.admin_support import admin_headers, assert_error
from tests.audit_support import rows
from tests.mfa_support import (
    advance,
    current_code,
    enable_totp,
    mfa_token,
    password_sign_in,
    second_step,
    step_clock,
    two_step_sign_in,
)
from tests.session_support import assert_access_ended
from tests.support import OTHER_STRONG_PASSWORD, STRONG_PASSWORD, FixedClock, register


@pytest.fixture
def clock() -> FixedClock:
    return step_clock()


def test_turning_totp_off_needs_a_fresh_code(client: TestClient, clock: FixedClock) -> None:
    register(client)
    enrolled = enable_totp(client, clock)
    headers = enrolled.headers
    assert_error(client.post("/mfa/totp/disable", json={}, headers=headers), 403, "MFA_REQUIRED")
    wrong = current_code(enrolled.secret, clock, steps=9)
    assert_error(
        client.post("/mfa/totp/disable", json={"code": wrong}, headers=headers),
        403,
        "INVALID_MFA_CODE",
    )
    assert client.post("/mfa/totp/disable", json={"code": None}, headers=headers).status_code == 422
    right = {"code": current_code(enrolled.secret, clock)}
    assert client.post("/mfa/totp/disable", json=right, headers=headers).status_code == 204
    assert client.get("/mfa", headers=headers).json() == {
        "enabled": False,
        "recovery_codes_remaining": 0,
    }
    assert "access_token" in password_sign_in(client).json()
    again = client.post("/mfa/totp/disable", json=right, headers=headers)
    assert_error(again, 409, "MFA_NOT_ENABLED")


def test_a_recovery_code_also_passes_a_step_up(client: TestClient, clock: FixedClock) -> None:
    register(client)
    enrolled = enable_totp(client, clock)
    body = {"code": enrolled.recovery_codes[0]}
    assert client.post("/mfa/totp/disable", json=body, headers=enrolled.headers).status_code == 204


def test_new_recovery_codes_replace_the_old_ones(client: TestClient, clock: FixedClock) -> None:
    register(client)
    enrolled = enable_totp(client, clock)
    headers = enrolled.headers
    assert_error(client.post("/mfa/recovery-codes", json={}, headers=headers), 403, "MFA_REQUIRED")
    response = client.post(
        "/mfa/recovery-codes", json={"code": current_code(enrolled.secret, clock)}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    fresh = response.json()["recovery_codes"]
    assert len(fresh) == 10
    assert not set(fresh) & set(enrolled.recovery_codes)
    old = second_step(client, mfa_token(client), recovery_code=enrolled.recovery_codes[1])
    assert_error(old, 401, "INVALID_MFA_CODE")
    new = second_step(client, mfa_token(client), recovery_code=fresh[0])
    assert new.json()["recovery_codes_remaining"] == 9


def test_email_and_password_changes_need_a_fresh_code(
    client: TestClient, clock: FixedClock
) -> None:
    register(client)
    enrolled = enable_totp(client, clock)
    headers = enrolled.headers
    change = {"email": "new@example.com", "current_password": STRONG_PASSWORD}
    assert_error(client.put("/update", json=change, headers=headers), 403, "MFA_REQUIRED")
    wrong = {**change, "code": current_code(enrolled.secret, clock, steps=4)}
    assert_error(client.put("/update", json=wrong, headers=headers), 403, "INVALID_MFA_CODE")
    # A name change needs neither the password nor a code.
    named = client.put("/update", json={"full_name": "Alice L."}, headers=headers)
    assert named.status_code == 200, named.text
    right = {**change, "code": current_code(enrolled.secret, clock)}
    changed = client.put("/update", json=right, headers=headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["email"] == "alice@example.com"  # until the new address confirms
    advance(clock, seconds=30)
    password = {
        "new_password": OTHER_STRONG_PASSWORD,
        "current_password": STRONG_PASSWORD,
        "code": current_code(enrolled.secret, clock),
    }
    assert client.put("/update", json=password, headers=headers).status_code == 200
    assert_access_ended(client, enrolled.access_token)
    # A new password never turns the second factor off.
    response = password_sign_in(client, password=OTHER_STRONG_PASSWORD)
    assert response.json()["mfa_required"] is True


def test_wrong_codes_count_in_the_failure_limits(client: TestClient, clock: FixedClock) -> None:
    """LOGIN_MAX_FAILURES (5) wrong codes lock the account and address out: the sixth
    attempt answers 429, even with the right code, and the password step is refused too."""
    register(client)
    enrolled = enable_totp(client, clock)
    token = mfa_token(client)
    for steps in range(3, 8):
        wrong = current_code(enrolled.secret, clock, steps=steps)
        assert_error(second_step(client, token, code=wrong), 401, "INVALID_MFA_CODE")
    locked = second_step(client, token, code=current_code(enrolled.secret, clock))
    assert_error(locked, 429, "TOO_MANY_REQUESTS")
    assert int(locked.headers["retry-after"]) > 0
    assert_error(password_sign_in(client), 429, "TOO_MANY_REQUESTS")


def test_the_password_step_does_not_clear_the_failure_count(
    client: TestClient, clock: FixedClock
) -> None:
    """A right password must not reset the count of wrong codes, or a thief who knows the
    password could guess codes without end."""
    register(client)
    enrolled = enable_totp(client, clock)
    for steps in range(3, 8):
        wrong = current_code(enrolled.secret, clock, steps=steps)
        assert_error(second_step(client, mfa_token(client), code=wrong), 401, "INVALID_MFA_CODE")
    assert_error(password_sign_in(client), 429, "TOO_MANY_REQUESTS")


def test_wrong_step_up_codes_count_too(client: TestClient, clock: FixedClock) -> None:
    register(client)
    enrolled = enable_totp(client, clock)
    for steps in range(3, 8):
        wrong = {"code": current_code(enrolled.secret, clock, steps=steps)}
        answer = client.post("/mfa/totp/disable", json=wrong, headers=enrolled.headers)
        assert_error(answer, 403, "INVALID_MFA_CODE")
    right = {"code": current_code(enrolled.secret, clock)}
    answer = client.post("/mfa/totp/disable", json=right, headers=enrolled.headers)
    assert_error(answer, 429, "TOO_MANY_REQUESTS")


def test_a_successful_second_step_clears_the_pair_counter(
    client: TestClient, clock: FixedClock
) -> None:
    register(client)
    enrolled = enable_totp(client, clock)
    for steps in range(3, 7):  # four wrong codes: one short of the limit
        wrong = current_code(enrolled.secret, clock, steps=steps)
        assert_error(second_step(client, mfa_token(client), code=wrong), 401, "INVALID_MFA_CODE")
    two_step_sign_in(client, enrolled.secret, clock)
    for steps in range(3, 7):
        wrong = current_code(enrolled.secret, clock, steps=steps)
        assert_error(second_step(client, mfa_token(client), code=wrong), 401, "INVALID_MFA_CODE")
    two_step_sign_in(client, enrolled.secret, clock)


@pytest.mark.backends("sqlite")
def test_the_audit_trail_records_the_second_factor(
    app: FastAPI, client: TestClient, clock: FixedClock
) -> None:
    user = register(client)
    enrolled = enable_totp(client, clock)
    wrong = current_code(enrolled.secret, clock, steps=5)
    second_step(client, mfa_token(client), code=wrong)
    second_step(client, mfa_token(client), recovery_code=enrolled.recovery_codes[0])
    admin = admin_headers(app, client)
    mfa_rows = [row for row in rows(client, admin) if row[0].startswith("mfa_")]
    assert mfa_rows == [
        ("mfa_enroll", "success", user["id"], None, None),
        ("mfa_enable", "success", user["id"], None, None),
        ("mfa_sign_in", "failure", user["id"], None, "INVALID_MFA_CODE"),
        ("mfa_sign_in", "success", user["id"], None, "RECOVERY_CODE"),
    ]
