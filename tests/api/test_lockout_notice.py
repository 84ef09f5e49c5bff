"""The lockout notice, over a real SMTP server on loopback: when failed sign-ins lock an account
out, its owner gets one mail per failure window (LOGIN_FAILURE_WINDOW_SECONDS), however many
addresses are locked out, with an "it was not me" link that signs every device out.

Clients sign in through a trusted proxy so each request can name its own client address."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from A_DatabasePackage.settings import Settings
from I_ControllerPackage.app_factory import create_app
from tests.api.test_password_reset import Mailed, mail_settings
from tests.api.test_security_notices import not_me_token_of
from tests.mail_support import VERIFICATION_SUBJECTS, smtp_server, text_of
from tests.support import STRONG_PASSWORD, FakeClock, bearer, register

SUBJECT = "Signing in to your account was paused"
WRONG = "not the password at all"


@pytest.fixture
def mailed(settings: Settings, clock: FakeClock) -> Iterator[Mailed]:
    with smtp_server(VERIFICATION_SUBJECTS) as (inbox, port):
        proxied = mail_settings(settings, port, TRUSTED_PROXIES="127.0.0.1")
        with TestClient(create_app(proxied, clock), client=("127.0.0.1", 40000)) as client:
            yield Mailed(client, inbox)


def sign_in(client: TestClient, address: str, name: str = "alice", password: str = WRONG) -> Any:
    return client.post(
        "/login",
        json={"username": name, "password": password},
        headers={"X-Forwarded-For": address},
    )


def lock_out(client: TestClient, address: str, name: str = "alice") -> None:
    statuses = [sign_in(client, address, name).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]


def test_a_lockout_mails_the_owner_once_per_window(mailed: Mailed, clock: FakeClock) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    lock_out(client, "198.51.100.1")
    (notice,) = inbox.wait_for(1)
    assert (notice["To"], notice["Subject"]) == ("alice@example.com", SUBJECT)
    assert "198.51.100.1" in text_of(notice)
    assert WRONG not in text_of(notice)

    lock_out(client, "198.51.100.2")  # another lockout within the window
    lock_out(client, "198.51.100.3")
    assert inbox.quiet_for(1.0) == 1

    clock.advance(seconds=901)
    lock_out(client, "198.51.100.4")
    second = inbox.wait_for(2)[1]
    assert second["Subject"] == SUBJECT
    assert "198.51.100.4" in text_of(second)


def test_the_notice_link_signs_every_device_out(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    session = sign_in(client, "203.0.113.10", password=STRONG_PASSWORD).json()
    lock_out(client, "198.51.100.1")
    token = not_me_token_of(inbox.wait_for(1)[0])
    assert client.post("/account/not-me", json={"token": token}).status_code == 204
    assert client.get("/users/me", headers=bearer(session["access_token"])).status_code == 401


def test_failures_against_an_unknown_account_mail_nobody(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    lock_out(client, "198.51.100.1", name="nobody")
    assert inbox.quiet_for(1.0) == 0


def test_wrong_current_passwords_on_update_mail_a_notice_too(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    access = sign_in(client, "203.0.113.10", password=STRONG_PASSWORD).json()["access_token"]
    body = {"email": "alice@new.example", "current_password": WRONG}
    headers = {**bearer(access), "X-Forwarded-For": "203.0.113.10"}
    statuses = [client.put("/update", json=body, headers=headers).status_code for _ in range(6)]
    assert statuses == [403] * 5 + [429]
    (notice,) = inbox.wait_for(1)
    assert notice["Subject"] == SUBJECT
