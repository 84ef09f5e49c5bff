"""Email verification through HTTP, with mail delivered over SMTP to a real server on loopback
(aiosmtpd): registration mails a link and a code; either proves the address once; expiry (the
injected clock); code attempts; a new mail replaces the old; enumeration; the page behind the
link; REQUIRE_VERIFIED_EMAIL; the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from A_DatabasePackage.settings import Settings
from I_ControllerPackage.app_factory import create_app
from tests.admin_support import admin_headers
from tests.api.test_password_reset import Mailed, mail_settings
from tests.audit_support import rows
from tests.mail_support import reset_code_of, smtp_server, text_of, verify_token_of
from tests.support import STRONG_PASSWORD, FakeClock, bearer, register

SUBJECT = "Confirm your email address"
RESEND_ACCEPTED = {
    "detail": (
        "If an account with an unconfirmed address uses this one, a message with a link and a "
        "code is on its way. The link and the code work once, for a limited time."
    )
}


@pytest.fixture
def mailed(settings: Settings, clock: FakeClock) -> Iterator[Mailed]:
    with smtp_server() as (inbox, port):
        app = create_app(mail_settings(settings, port), clock)
        with TestClient(app) as client:
            yield Mailed(client, inbox)


@pytest.fixture
def strict(settings: Settings, clock: FakeClock) -> Iterator[Mailed]:
    """REQUIRE_VERIFIED_EMAIL=true."""
    with smtp_server() as (inbox, port):
        app = create_app(mail_settings(settings, port, REQUIRE_VERIFIED_EMAIL=True), clock)
        with TestClient(app) as client:
            yield Mailed(client, inbox)


def verify(client: TestClient, **body: str) -> Any:
    return client.post("/email/verify", json=body)


def resend(client: TestClient, email: str = "alice@example.com") -> Any:
    return client.post("/email/verify/resend", json={"email": email})


def me(client: TestClient) -> dict[str, Any]:
    response = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
    assert response.status_code == 200, response.text
    found = client.get("/users/me", headers=bearer(response.json()["access_token"]))
    body: dict[str, Any] = found.json()
    return body


def test_registration_mails_a_link_that_verifies_the_address_once(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    created = register(client)
    assert created["email_verified"] is False
    (mail,) = inbox.wait_for(1)
    assert (mail["To"], mail["Subject"]) == ("alice@example.com", SUBJECT)
    assert "https://auth.example.com/email/verify?token=" in text_of(mail)
    token = verify_token_of(mail)
    assert len(token) >= 43

    done = verify(client, token=token)
    assert done.status_code == 200, done.text
    assert done.json() == {"email": "alice@example.com", "email_verified": True}
    assert me(client)["email_verified"] is True
    again = verify(client, token=token)
    assert (again.status_code, again.json()["code"]) == (400, "INVALID_VERIFY_TOKEN")


def test_the_code_with_the_address_verifies_it(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    code = reset_code_of(inbox.wait_for(1)[0])
    done = verify(client, email="Alice@Example.com", code=code)
    assert done.status_code == 200, done.text
    assert me(client)["email_verified"] is True
    again = verify(client, email="alice@example.com", code=code)
    assert (again.status_code, again.json()["code"]) == (400, "INVALID_VERIFY_CODE")


def test_a_code_allows_five_attempts(settings: Settings, clock: FakeClock) -> None:
    """With room for more failed sign-ins than five, the sixth code is still refused."""
    with smtp_server() as (inbox, port):
        roomy = mail_settings(settings, port, LOGIN_MAX_FAILURES=10)
        with TestClient(create_app(roomy, clock)) as client:
            register(client)
            code = reset_code_of(inbox.wait_for(1)[0])
            wrong = f"{(int(code) + 1) % 10**8:08d}"
            for _ in range(5):
                refused = verify(client, email="alice@example.com", code=wrong)
                assert refused.json()["code"] == "INVALID_VERIFY_CODE"
            late = verify(client, email="alice@example.com", code=code)
            assert (late.status_code, late.json()["code"]) == (400, "INVALID_VERIFY_CODE")
            assert me(client)["email_verified"] is False


def test_wrong_codes_count_as_failed_sign_ins(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    code = reset_code_of(inbox.wait_for(1)[0])
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    for _ in range(5):
        assert verify(client, email="alice@example.com", code=wrong).status_code == 400
    locked = verify(client, email="alice@example.com", code=code)
    assert (locked.status_code, locked.json()["code"]) == (429, "TOO_MANY_REQUESTS")
    signing_in = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
    assert signing_in.status_code == 429


def test_the_link_expires_after_verify_token_expire_hours(mailed: Mailed, clock: FakeClock) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    token = verify_token_of(inbox.wait_for(1)[0])
    clock.advance(hours=24, seconds=1)
    expired = verify(client, token=token)
    assert (expired.status_code, expired.json()["code"]) == (400, "INVALID_VERIFY_TOKEN")
    assert me(client)["email_verified"] is False


def test_a_new_mail_replaces_the_old_link(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    first = verify_token_of(inbox.wait_for(1)[0])
    assert resend(client).status_code == 202
    second = verify_token_of(inbox.wait_for(2)[1])
    assert first != second
    assert verify(client, token=first).json()["code"] == "INVALID_VERIFY_TOKEN"
    assert verify(client, token=second).status_code == 200


def test_resend_answers_alike_for_any_address_and_mails_only_an_unverified_account(
    mailed: Mailed,
) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    register(client, "bob")
    bob_token = verify_token_of(inbox.wait_for(2)[1])
    assert verify(client, token=bob_token).status_code == 200
    answers = [resend(client, email) for email in ("nobody@example.com", "bob@example.com")]
    answers.append(resend(client, "alice@example.com"))
    assert {(a.status_code, a.json() == RESEND_ACCEPTED) for a in answers} == {(202, True)}
    inbox.wait_for(3)
    assert inbox.quiet_for(1.0) == 3
    assert inbox.recipients[2] == ["alice@example.com"]


def test_resend_is_rate_limited_per_address_asked_for(mailed: Mailed) -> None:
    client = mailed.client
    register(client)
    answers = [resend(client).status_code for _ in range(6)]
    assert answers == [202] * 5 + [429]


def test_a_get_of_the_link_shows_a_button_and_spends_nothing(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    token = verify_token_of(inbox.wait_for(1)[0])
    for _ in range(3):
        page = client.get("/email/verify", params={"token": token})
        assert page.status_code == 200
        assert 'action="/email/verify"' in page.text
        assert f'value="{token}"' in page.text
    assert me(client)["email_verified"] is False
    pressed = client.post("/email/verify", data={"token": token})
    assert pressed.status_code == 200
    assert pressed.headers["content-type"].startswith("text/html")
    assert "Your email address is confirmed." in pressed.text
    assert me(client)["email_verified"] is True
    refused = client.post("/email/verify", data={"token": token})
    assert refused.status_code == 400
    assert "text/html" in refused.headers["content-type"]


def test_two_uses_of_one_link_at_once_verify_once(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    token = verify_token_of(inbox.wait_for(1)[0])
    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(lambda _: verify(client, token=token).status_code, range(4)))
    assert statuses == [200, 400, 400, 400]


@pytest.mark.parametrize(
    "body",
    [
        {"token": "x", "email": "alice@example.com", "code": "12345678"},
        {"email": "alice@example.com"},
        {"email": "alice@example.com", "code": "1234abcd"},
        {"token": ""},
        {"token": "a\u0000b"},
        {},
        {"token": "x", "role": "admin"},
    ],
)
def test_malformed_bodies_are_422_and_change_nothing(mailed: Mailed, body: dict[str, str]) -> None:
    client = mailed.client
    register(client)
    answer = client.post("/email/verify", json=body)
    assert answer.status_code == 422, answer.text
    assert me(client)["email_verified"] is False


def test_a_link_proves_only_the_address_it_was_mailed_to(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    app = client.app
    register(client)
    token = verify_token_of(inbox.wait_for(1)[0])
    admin = admin_headers(app, client)  # type: ignore[arg-type]
    alice_id = me(client)["id"]
    moved = client.patch(f"/users/{alice_id}", json={"email": "alice@other.example"}, headers=admin)
    assert moved.status_code == 200
    assert moved.json()["email_verified"] is False
    refused = verify(client, token=token)
    assert (refused.status_code, refused.json()["code"]) == (400, "INVALID_VERIFY_TOKEN")


def test_require_verified_email_refuses_the_right_password_until_verified(
    strict: Mailed,
) -> None:
    client, inbox = strict.client, strict.inbox
    register(client)
    wrong = client.post("/login", json={"username": "alice", "password": "not the password"})
    assert (wrong.status_code, wrong.json()["code"]) == (401, "INVALID_CREDENTIALS")
    right = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
    assert (right.status_code, right.json()["code"]) == (403, "EMAIL_NOT_VERIFIED")
    assert "access_token" not in right.text
    code_check = client.post("/users/code", json={"username": "alice", "password": STRONG_PASSWORD})
    assert (code_check.status_code, code_check.json()["code"]) == (403, "EMAIL_NOT_VERIFIED")
    assert verify(client, token=verify_token_of(inbox.wait_for(1)[0])).status_code == 200
    assert me(client)["email_verified"] is True


def test_without_the_setting_an_unverified_account_signs_in(mailed: Mailed) -> None:
    register(mailed.client)
    assert me(mailed.client)["email_verified"] is False


def test_verification_is_in_the_audit_trail(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    alice = register(client)
    assert verify(client, token=verify_token_of(inbox.wait_for(1)[0])).status_code == 200
    admin = admin_headers(client.app, client)  # type: ignore[arg-type]
    events = [row[0] for row in rows(client, admin, user_id=alice["id"])]
    assert "email_verify_request" in events
    assert "email_verify" in events
