"""Two-factor sign-in (issue 23): enrollment, confirmation, the two-step /login (JSON and
form), replay of a code refused, mfa tokens single-use and short-lived, recovery codes
single-use, amr/acr in the tokens. On every back end, with a clock fixed inside a TOTP step."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.admin_support import assert_error, unverified_claims
from tests.mfa_support import (
    advance,
    current_code,
    enable_totp,
    enroll,
    mfa_token,
    password_sign_in,
    second_step,
    secret_of_uri,
    step_clock,
    two_step_sign_in,
)
from tests.session_support import refreshed
from tests.support import STRONG_PASSWORD, FixedClock, bearer, register


@pytest.fixture
def clock() -> FixedClock:
    return step_clock()


def test_enrollment_answers_a_secret_its_uri_and_a_local_qr_code(client: TestClient) -> None:
    register(client)
    headers = bearer(password_sign_in(client).json()["access_token"])
    response = client.post("/mfa/totp/enroll", json={"password": STRONG_PASSWORD}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/auth-service:alice?")
    assert secret_of_uri(body["otpauth_uri"]) == body["secret"]
    assert "issuer=auth-service" in body["otpauth_uri"]
    assert body["qr_svg"].startswith("<svg")
    assert body["qr_svg"].rstrip().endswith("</svg>")
    # Not on until confirmed: the password alone still signs in.
    assert "access_token" in password_sign_in(client).json()
    assert client.get("/mfa", headers=headers).json() == {
        "enabled": False,
        "recovery_codes_remaining": 0,
    }


def test_enrollment_needs_a_signed_in_caller_and_the_password(client: TestClient) -> None:
    register(client)
    assert_error(
        client.post("/mfa/totp/enroll", json={"password": "x" * 12}), 401, "NOT_AUTHENTICATED"
    )
    headers = bearer(password_sign_in(client).json()["access_token"])
    wrong = client.post("/mfa/totp/enroll", json={"password": "not the password"}, headers=headers)
    assert_error(wrong, 403, "INVALID_CURRENT_PASSWORD")
    assert client.post("/mfa/totp/enroll", json={}, headers=headers).status_code == 422


def test_confirmation_turns_totp_on_and_answers_ten_recovery_codes_once(
    client: TestClient, clock: FixedClock
) -> None:
    register(client)
    headers = bearer(password_sign_in(client).json()["access_token"])
    assert_error(
        client.post("/mfa/totp/confirm", json={"code": "123456"}, headers=headers),
        409,
        "MFA_ENROLLMENT_NOT_STARTED",
    )
    secret = enroll(client, headers)["secret"]
    wrong = current_code(secret, clock, steps=5)
    assert_error(
        client.post("/mfa/totp/confirm", json={"code": wrong}, headers=headers),
        403,
        "INVALID_MFA_CODE",
    )
    response = client.post(
        "/mfa/totp/confirm", json={"code": current_code(secret, clock)}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    codes = response.json()["recovery_codes"]
    assert len(codes) == len(set(codes)) == 10
    assert client.get("/mfa", headers=headers).json() == {
        "enabled": True,
        "recovery_codes_remaining": 10,
    }
    again = client.post("/mfa/totp/enroll", json={"password": STRONG_PASSWORD}, headers=headers)
    assert_error(again, 409, "MFA_ALREADY_ENABLED")


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
def test_login_asks_for_the_second_step_and_login_mfa_answers_tokens(
    client: TestClient, clock: FixedClock, form: bool
) -> None:
    register(client)
    enrolled = enable_totp(client, clock)
    credentials = {"username": "alice", "password": STRONG_PASSWORD}
    first = (
        client.post("/login", data=credentials) if form else client.post("/login", json=credentials)
    )
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"] == "no-store"
    body = first.json()
    assert set(body) == {"mfa_required", "mfa_token", "expires_in"}
    assert (body["mfa_required"], body["expires_in"]) == (True, 300)
    # The mfa token is no access token.
    assert_error(client.get("/users/me", headers=bearer(body["mfa_token"])), 401, "INVALID_TOKEN")
    second = second_step(client, body["mfa_token"], code=current_code(enrolled.secret, clock))
    assert second.status_code == 200, second.text
    assert second.headers["cache-control"] == "no-store"
    tokens = second.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["recovery_codes_remaining"] == 10
    claims = unverified_claims(tokens["access_token"])
    assert (claims["amr"], claims["acr"]) == (["pwd", "otp"], "aal2")
    assert client.get("/users/me", headers=bearer(tokens["access_token"])).status_code == 200
    renewed = unverified_claims(refreshed(client, tokens["refresh_token"])["access_token"])
    assert (renewed["amr"], renewed["acr"]) == (["pwd", "otp"], "aal2")


def test_a_password_only_sign_in_carries_amr_pwd(client: TestClient) -> None:
    register(client)
    claims = unverified_claims(password_sign_in(client).json()["access_token"])
    assert (claims["amr"], claims["acr"]) == (["pwd"], "aal1")


def test_a_code_is_accepted_once_within_its_window(client: TestClient, clock: FixedClock) -> None:
    register(client)
    enrolled = enable_totp(client, clock)
    code = current_code(enrolled.secret, clock)
    assert second_step(client, mfa_token(client), code=code).status_code == 200
    advance(clock, seconds=20)  # the same code is still inside its window (one step of drift)
    replay = second_step(client, mfa_token(client), code=code)
    assert_error(replay, 401, "INVALID_MFA_CODE")
    # An earlier step's code, still within the drift window, is refused after a later one.
    earlier = current_code(enrolled.secret, clock, steps=-1)
    assert_error(second_step(client, mfa_token(client), code=earlier), 401, "INVALID_MFA_CODE")
    advance(clock, seconds=30)
    fresh = second_step(client, mfa_token(client), code=current_code(enrolled.secret, clock))
    assert fresh.status_code == 200, fresh.text


def test_codes_outside_the_drift_window_are_refused(client: TestClient, clock: FixedClock) -> None:
    register(client)
    enrolled = enable_totp(client, clock)
    token = mfa_token(client)
    for steps in (-2, 2):
        code = current_code(enrolled.secret, clock, steps=steps)
        assert_error(second_step(client, token, code=code), 401, "INVALID_MFA_CODE")
    ahead = second_step(client, token, code=current_code(enrolled.secret, clock, steps=1))
    assert ahead.status_code == 200, ahead.text


def test_the_mfa_token_is_single_use_and_lasts_five_minutes(
    client: TestClient, clock: FixedClock
) -> None:
    register(client)
    enrolled = enable_totp(client, clock)
    token = mfa_token(client)
    assert second_step(client, token, code=current_code(enrolled.secret, clock)).status_code == 200
    advance(clock, seconds=30)
    again = second_step(client, token, code=current_code(enrolled.secret, clock))
    assert_error(again, 401, "INVALID_MFA_TOKEN")
    late = mfa_token(client)
    advance(clock, minutes=5)
    expired = second_step(client, late, code=current_code(enrolled.secret, clock))
    assert_error(expired, 401, "INVALID_MFA_TOKEN")
    assert_error(second_step(client, "made-up", code="123456"), 401, "INVALID_MFA_TOKEN")


def test_a_wrong_code_leaves_the_mfa_token_usable(client: TestClient, clock: FixedClock) -> None:
    register(client)
    enrolled = enable_totp(client, clock)
    token = mfa_token(client)
    wrong = current_code(enrolled.secret, clock, steps=7)
    assert_error(second_step(client, token, code=wrong), 401, "INVALID_MFA_CODE")
    assert second_step(client, token, code=current_code(enrolled.secret, clock)).status_code == 200


def test_each_recovery_code_works_once_and_the_rest_are_counted(
    client: TestClient, clock: FixedClock
) -> None:
    register(client)
    enrolled = enable_totp(client, clock)
    first, second = enrolled.recovery_codes[:2]
    used = second_step(client, mfa_token(client), recovery_code=first)
    assert used.status_code == 200, used.text
    assert used.json()["recovery_codes_remaining"] == 9
    claims = unverified_claims(used.json()["access_token"])
    assert claims["acr"] == "aal2"
    assert_error(
        second_step(client, mfa_token(client), recovery_code=first), 401, "INVALID_MFA_CODE"
    )
    # Typed without hyphens and in lower case, it is the same code.
    typed = second.replace("-", "").lower()
    assert (
        second_step(client, mfa_token(client), recovery_code=typed).json()[
            "recovery_codes_remaining"
        ]
        == 8
    )
    # A recovery code is not a TOTP code, nor the other way round.
    token = mfa_token(client)
    third = enrolled.recovery_codes[2]
    assert_error(second_step(client, token, code=third), 401, "INVALID_MFA_CODE")
    totp = current_code(enrolled.secret, clock)
    assert_error(second_step(client, token, recovery_code=totp), 401, "INVALID_MFA_CODE")


@pytest.mark.backends("sqlite")
@pytest.mark.parametrize(
    "body",
    [
        {"mfa_token": "t"},
        {"mfa_token": "t", "code": "123456", "recovery_code": "ABCD-EFGH-JKLM-NPQR"},
        {"mfa_token": "t", "code": "123456", "extra": 1},
        {"mfa_token": "t\x00", "code": "123456"},
        {"mfa_token": "t", "code": "12\x003456"},
        {"mfa_token": "t", "code": None},
        {"code": "123456"},
        {"mfa_token": "t", "code": "1" * 65},
    ],
)
def test_malformed_second_steps_are_422(client: TestClient, body: dict[str, object]) -> None:
    assert_error(client.post("/login/mfa", json=body), 422, "VALIDATION_ERROR")


def test_two_step_sign_in_helper_round_trip(client: TestClient, clock: FixedClock) -> None:
    register(client)
    enrolled = enable_totp(client, clock)
    tokens = two_step_sign_in(client, enrolled.secret, clock)
    assert client.get("/users/me", headers=bearer(tokens["access_token"])).status_code == 200
