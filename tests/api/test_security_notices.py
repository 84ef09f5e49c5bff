"""Security notices over a real SMTP server on loopback: a password change (PUT /update) or
reset mails the owner a notice whose "it was not me" link, used once, signs every device out,
the one that changed the password included; a GET of the link changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from fastapi.testclient import TestClient

from A_DatabasePackage.settings import Settings
from I_ControllerPackage.app_factory import create_app
from tests.api.test_password_reset import Mailed, mail_settings
from tests.mail_support import VERIFICATION_SUBJECTS, reset_token_of, smtp_server, text_of
from tests.support import OTHER_STRONG_PASSWORD, STRONG_PASSWORD, FakeClock, bearer, register

NOT_ME_LINK = re.compile(r"https://auth\.example\.com/account/not-me\?token=([A-Za-z0-9_\-]+)")


@pytest.fixture
def mailed(settings: Settings, clock: FakeClock) -> Iterator[Mailed]:
    with (
        smtp_server(VERIFICATION_SUBJECTS) as (inbox, port),
        TestClient(create_app(mail_settings(settings, port), clock)) as client,
    ):
        yield Mailed(client, inbox)


def not_me_token_of(message: EmailMessage) -> str:
    match = NOT_ME_LINK.search(text_of(message))
    assert match, text_of(message)
    return match.group(1)


def sign_in(client: TestClient, password: str) -> dict[str, Any]:
    response = client.post("/login", json={"username": "alice", "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def change_password(client: TestClient) -> None:
    token = sign_in(client, STRONG_PASSWORD)["access_token"]
    body = {"new_password": OTHER_STRONG_PASSWORD, "current_password": STRONG_PASSWORD}
    assert client.put("/update", json=body, headers=bearer(token)).status_code == 200


def test_a_password_change_mails_a_notice_whose_link_signs_every_device_out(
    mailed: Mailed,
) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    change_password(client)
    (notice,) = inbox.wait_for(1)
    assert notice["Subject"] == "Your password was changed"
    assert notice["To"] == "alice@example.com"
    intruder = sign_in(client, OTHER_STRONG_PASSWORD)  # whoever changed it signs in again

    used = client.post("/account/not-me", json={"token": not_me_token_of(notice)})
    assert used.status_code == 204
    assert client.get("/users/me", headers=bearer(intruder["access_token"])).status_code == 401
    refresh = client.post("/token/refresh", json={"refresh_token": intruder["refresh_token"]})
    assert refresh.status_code == 401
    again = client.post("/account/not-me", json={"token": not_me_token_of(notice)})
    assert again.status_code == 400
    assert again.json()["code"] == "INVALID_NOTICE_TOKEN"


def test_a_get_of_the_link_only_shows_the_button(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    change_password(client)
    token = not_me_token_of(inbox.wait_for(1)[0])
    session = sign_in(client, OTHER_STRONG_PASSWORD)
    for _ in range(3):
        page = client.get("/account/not-me", params={"token": token})
        assert page.status_code == 200
        assert f'name="token" value="{token}"' in page.text
    assert client.get("/users/me", headers=bearer(session["access_token"])).status_code == 200
    done = client.post("/account/not-me", data={"token": token})
    assert done.status_code == 200
    assert "Every device was signed out" in done.text
    assert client.get("/users/me", headers=bearer(session["access_token"])).status_code == 401


def test_the_reset_notice_carries_a_working_link_too(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    client.post("/password/forgot", json={"email": "alice@example.com"})
    token = reset_token_of(inbox.wait_for(1)[0])
    reset = {"token": token, "new_password": OTHER_STRONG_PASSWORD}
    assert client.post("/password/reset", json=reset).status_code == 204
    notice = inbox.wait_for(2)[1]
    session = sign_in(client, OTHER_STRONG_PASSWORD)
    assert (
        client.post("/account/not-me", json={"token": not_me_token_of(notice)}).status_code == 204
    )
    assert client.get("/users/me", headers=bearer(session["access_token"])).status_code == 401


def test_the_link_lasts_seven_days(mailed: Mailed, clock: FakeClock) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    change_password(client)
    token = not_me_token_of(inbox.wait_for(1)[0])
    clock.advance(days=7, seconds=1)
    expired = client.post("/account/not-me", json={"token": token})
    assert expired.json()["code"] == "INVALID_NOTICE_TOKEN"


@pytest.mark.parametrize("body", [{}, {"token": ""}, {"token": "a\x00b"}, {"token": "x", "y": 1}])
def test_malformed_not_me_bodies_are_422(client: TestClient, body: dict[str, Any]) -> None:
    assert client.post("/account/not-me", json=body).status_code == 422
