"""What the second factor ends (issue 23): turning TOTP on ends the account's other sessions;
an admin's reset (DELETE /users/{id}/mfa, audited) ends all of them; turning it off or new
recovery codes end none. And the secret at rest: encrypted, bound to its key id, readable
after a key rotation and re-encrypted with the new key at its next use."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from A_DatabasePackage.database import Database
from A_DatabasePackage.settings import Settings
from E_SecurityPackage.second_factor import SecretBox
from I_ControllerPackage.app_factory import create_app
from tests.admin_support import admin_headers, assert_error
from tests.api.test_password_reset import mail_settings
from tests.audit_support import rows
from tests.mail_support import VERIFICATION_SUBJECTS, reset_token_of, smtp_server
from tests.mfa_support import (
    current_code,
    enable_totp,
    mfa_token,
    password_sign_in,
    second_step,
    step_clock,
    two_step_sign_in,
)
from tests.session_support import assert_access_ended, assert_refresh_invalid, refreshed
from tests.support import (
    OTHER_STRONG_PASSWORD,
    STRONG_PASSWORD,
    FixedClock,
    bearer,
    make_settings,
    register,
    sql_unit_of_work,
)

FIRST_KEY = "first-mfa-key-0123456789-abcdefghijklmnop"
SECOND_KEY = "second-mfa-key-0123456789-abcdefghijklmno"


@pytest.fixture
def clock() -> FixedClock:
    return step_clock()


@pytest.fixture
def settings(database_url: str, backend_redis_url: str | None) -> Settings:
    return make_settings(database_url, REDIS_URL=backend_redis_url, MFA_ENCRYPTION_KEY=FIRST_KEY)


def test_turning_totp_on_ends_the_other_sessions_only(
    client: TestClient, clock: FixedClock
) -> None:
    register(client)
    other = password_sign_in(client).json()
    enrolled = enable_totp(client, clock)
    assert_access_ended(client, other["access_token"])
    assert_refresh_invalid(client, other["refresh_token"])
    assert client.get("/users/me", headers=enrolled.headers).status_code == 200
    assert refreshed(client, enrolled.refresh_token)["access_token"]


def test_turning_totp_off_and_new_recovery_codes_end_nothing(
    client: TestClient, clock: FixedClock
) -> None:
    register(client)
    enrolled = enable_totp(client, clock)
    other = two_step_sign_in(client, enrolled.secret, clock)
    codes = {"code": current_code(enrolled.secret, clock)}
    assert (
        client.post("/mfa/recovery-codes", json=codes, headers=enrolled.headers).status_code == 200
    )
    disable = {"code": current_code(enrolled.secret, clock, steps=1)}
    assert (
        client.post("/mfa/totp/disable", json=disable, headers=enrolled.headers).status_code == 204
    )
    for token in (enrolled.access_token, other["access_token"]):
        assert client.get("/users/me", headers=bearer(token)).status_code == 200


def test_an_admin_reset_turns_totp_off_and_ends_every_session(
    app: FastAPI, client: TestClient, clock: FixedClock
) -> None:
    user = register(client)
    enrolled = enable_totp(client, clock)
    signed_in = two_step_sign_in(client, enrolled.secret, clock)
    pending = mfa_token(client)
    admin = admin_headers(app, client)
    assert_error(
        client.delete(f"/users/{user['id']}/mfa", headers=enrolled.headers), 403, "FORBIDDEN"
    )
    assert client.delete(f"/users/{user['id']}/mfa", headers=admin).status_code == 204
    for token in (enrolled.access_token, signed_in["access_token"]):
        assert_access_ended(client, token)
    assert_refresh_invalid(client, signed_in["refresh_token"])
    assert_error(
        second_step(client, pending, code=current_code(enrolled.secret, clock)),
        401,
        "INVALID_MFA_TOKEN",
    )
    assert "access_token" in password_sign_in(client).json()
    admin_id = client.get("/users/me", headers=admin).json()["id"]
    assert ("mfa_reset", "success", user["id"], admin_id, None) in rows(client, admin)
    assert_error(client.delete(f"/users/{user['id']}/mfa", headers=admin), 409, "MFA_NOT_ENABLED")
    assert_error(client.delete("/users/999999/mfa", headers=admin), 404, "USER_NOT_FOUND")


def test_a_password_change_between_the_two_steps_refuses_the_second(
    client: TestClient, clock: FixedClock
) -> None:
    register(client)
    enrolled = enable_totp(client, clock)
    pending = mfa_token(client)
    change = {
        "new_password": OTHER_STRONG_PASSWORD,
        "current_password": STRONG_PASSWORD,
        "code": current_code(enrolled.secret, clock),
    }
    assert client.put("/update", json=change, headers=enrolled.headers).status_code == 200
    late = second_step(client, pending, code=current_code(enrolled.secret, clock, steps=1))
    assert_error(late, 401, "INVALID_MFA_TOKEN")


def test_the_secret_is_stored_encrypted_under_the_current_key(
    client: TestClient, clock: FixedClock, database: Database
) -> None:
    user = register(client)
    enrolled = enable_totp(client, clock)
    with sql_unit_of_work(database) as uow:
        stored = uow.mfa.totp_of(user["id"])
    assert stored is not None
    assert stored.enabled
    assert enrolled.secret not in stored.secret_ciphertext
    assert stored.key_id == SecretBox(FIRST_KEY).current_key_id
    assert FIRST_KEY not in stored.key_id


def test_a_rotated_key_still_reads_old_secrets_and_re_encrypts_them(
    client: TestClient, clock: FixedClock, database: Database, settings: Settings
) -> None:
    user = register(client)
    enrolled = enable_totp(client, clock)
    rotated = settings.model_copy(
        update={
            "MFA_ENCRYPTION_KEY": SecretStr(SECOND_KEY),
            "MFA_ENCRYPTION_OLD_KEYS": SecretStr(FIRST_KEY),
        }
    )
    with TestClient(create_app(rotated, clock=clock)) as after_rotation:
        tokens = two_step_sign_in(after_rotation, enrolled.secret, clock)
    assert tokens["access_token"]
    with sql_unit_of_work(database) as uow:
        stored = uow.mfa.totp_of(user["id"])
    assert stored is not None
    assert (
        stored.key_id == SecretBox(SECOND_KEY).current_key_id != SecretBox(FIRST_KEY).current_key_id
    )


def test_a_secret_whose_key_was_dropped_answers_a_clear_409_not_a_500(
    client: TestClient, clock: FixedClock, settings: Settings
) -> None:
    """The old key removed before the secret was re-encrypted: the second step says what is
    wrong (an admin reset is the way out), and nothing answers 500."""
    register(client)
    enable_totp(client, clock)
    dropped = settings.model_copy(update={"MFA_ENCRYPTION_KEY": SecretStr(SECOND_KEY)})
    with TestClient(create_app(dropped, clock=clock)) as after:
        response = second_step(after, mfa_token(after, "alice"), code="123456")
    assert response.status_code == 409
    assert response.json()["code"] == "MFA_SECRET_UNREADABLE"


def test_a_password_reset_leaves_the_second_factor_on(
    settings: Settings, clock: FixedClock
) -> None:
    """Whoever can read the mailbox can choose a new password, but still needs the second
    factor to sign in."""
    with smtp_server(VERIFICATION_SUBJECTS) as (inbox, port):
        app = create_app(mail_settings(settings, port), clock=clock)
        with TestClient(app) as mailed:
            register(mailed)
            enrolled = enable_totp(mailed, clock)
            mailed.post("/password/forgot", json={"email": "alice@example.com"})
            token = reset_token_of(inbox.wait_for(1)[0])
            new_password = "a passphrase from the reset mail"
            reset = mailed.post(
                "/password/reset", json={"token": token, "new_password": new_password}
            )
            assert reset.status_code == 204
            signed_in = password_sign_in(mailed, password=new_password).json()
            assert signed_in["mfa_required"] is True
            assert "access_token" not in signed_in
            assert two_step_sign_in_with(mailed, signed_in["mfa_token"], enrolled.secret, clock)


def two_step_sign_in_with(
    client: TestClient, token: str, secret: str, clock: FixedClock
) -> dict[str, Any]:
    response = second_step(client, token, code=current_code(secret, clock))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
