"""An email change through PUT /update, over a real SMTP server on loopback: the new address
must confirm it (link or code) before it takes effect; the old address gets a notice whose
link cancels the change, or gives the address back once it was confirmed, and signs every
device out."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from typing import Any

import pytest
from fastapi.testclient import TestClient

from A_DatabasePackage.settings import Settings
from I_ControllerPackage.app_factory import create_app
from tests.admin_support import admin_headers
from tests.api.test_password_reset import Mailed, mail_settings
from tests.api.test_security_notices import not_me_token_of
from tests.audit_support import rows
from tests.mail_support import (
    VERIFICATION_SUBJECTS,
    reset_code_of,
    smtp_server,
    text_of,
    verify_token_of,
)
from tests.support import OTHER_STRONG_PASSWORD, STRONG_PASSWORD, FakeClock, bearer, register

CONFIRM = "Confirm your new email address"
NOTICE = "Your email address is being changed"
NEW = "alice@new.example"


@pytest.fixture
def mailed(settings: Settings, clock: FakeClock) -> Iterator[Mailed]:
    with (
        smtp_server(VERIFICATION_SUBJECTS) as (inbox, port),
        TestClient(create_app(mail_settings(settings, port), clock)) as client,
    ):
        yield Mailed(client, inbox)


def sign_in(client: TestClient, name: str = "alice", password: str = STRONG_PASSWORD) -> Any:
    return client.post("/login", json={"username": name, "password": password})


def tokens(client: TestClient, name: str = "alice") -> dict[str, Any]:
    response = sign_in(client, name)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def change_email(client: TestClient, access: str, email: str = NEW) -> Any:
    body = {"email": email, "current_password": STRONG_PASSWORD}
    return client.put("/update", json=body, headers=bearer(access))


def me(client: TestClient, access: str) -> dict[str, Any]:
    response = client.get("/users/me", headers=bearer(access))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def by_subject(messages: list[EmailMessage], subject: str) -> EmailMessage:
    (found,) = [m for m in messages if m["Subject"] == subject]
    return found


def test_the_change_waits_for_the_new_address_to_confirm(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    access = tokens(client)["access_token"]
    answer = change_email(client, access)
    assert answer.status_code == 200, answer.text
    assert answer.json()["email"] == "alice@example.com"  # unchanged until confirmed

    mails = inbox.wait_for(2)
    confirm, notice = by_subject(mails, CONFIRM), by_subject(mails, NOTICE)
    assert confirm["To"] == NEW
    assert notice["To"] == "alice@example.com"
    assert NEW in text_of(notice)
    assert sign_in(client, NEW).status_code == 401

    done = client.post("/email/verify", json={"token": verify_token_of(confirm)})
    assert done.status_code == 200, done.text
    assert done.json() == {"email": NEW, "email_verified": True}
    assert (me(client, access)["email"], me(client, access)["email_verified"]) == (NEW, True)
    assert sign_in(client, NEW).status_code == 200
    assert sign_in(client, "alice@example.com").status_code == 401
    again = client.post("/email/verify", json={"token": verify_token_of(confirm)})
    assert again.json()["code"] == "INVALID_VERIFY_TOKEN"


def test_the_code_with_the_new_address_confirms_it(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    access = tokens(client)["access_token"]
    change_email(client, access)
    code = reset_code_of(by_subject(inbox.wait_for(2), CONFIRM))
    wrong_address = client.post("/email/verify", json={"email": "alice@example.com", "code": code})
    assert wrong_address.json()["code"] == "INVALID_VERIFY_CODE"
    done = client.post("/email/verify", json={"email": NEW, "code": code})
    assert done.status_code == 200, done.text
    assert me(client, access)["email"] == NEW


def test_the_old_address_cancels_a_pending_change_and_signs_every_device_out(
    mailed: Mailed,
) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    intruder = tokens(client)
    change_email(client, intruder["access_token"])
    mails = inbox.wait_for(2)
    cancel = client.post(
        "/account/not-me", json={"token": not_me_token_of(by_subject(mails, NOTICE))}
    )
    assert cancel.status_code == 204
    assert client.get("/users/me", headers=bearer(intruder["access_token"])).status_code == 401
    refresh = client.post("/token/refresh", json={"refresh_token": intruder["refresh_token"]})
    assert refresh.status_code == 401
    confirm = client.post(
        "/email/verify", json={"token": verify_token_of(by_subject(mails, CONFIRM))}
    )
    assert confirm.json()["code"] == "INVALID_VERIFY_TOKEN"
    assert me(client, tokens(client)["access_token"])["email"] == "alice@example.com"


def test_the_old_address_gets_the_account_back_after_a_confirmed_change(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    intruder = tokens(client)
    change_email(client, intruder["access_token"])
    mails = inbox.wait_for(2)
    client.post("/email/verify", json={"token": verify_token_of(by_subject(mails, CONFIRM))})
    # The intruder also changes the password: the owner's link must survive that.
    body = {"new_password": OTHER_STRONG_PASSWORD, "current_password": STRONG_PASSWORD}
    assert (
        client.put("/update", json=body, headers=bearer(intruder["access_token"])).status_code
        == 200
    )
    intruder = client.post(
        "/login", json={"username": NEW, "password": OTHER_STRONG_PASSWORD}
    ).json()

    cancel = client.post(
        "/account/not-me", json={"token": not_me_token_of(by_subject(mails, NOTICE))}
    )
    assert cancel.status_code == 204
    assert client.get("/users/me", headers=bearer(intruder["access_token"])).status_code == 401
    back = client.post(
        "/login", json={"username": "alice@example.com", "password": OTHER_STRONG_PASSWORD}
    )
    assert back.status_code == 200
    account = me(client, back.json()["access_token"])
    assert (account["email"], account["email_verified"]) == ("alice@example.com", True)
    # The owner can now take the account back with a reset mailed to the old address.
    assert client.post("/password/forgot", json={"email": "alice@example.com"}).status_code == 202
    assert [m["To"] for m in inbox.wait_for(4)][3] == "alice@example.com"


def test_an_address_in_use_is_refused_at_once_and_nothing_is_mailed(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    register(client, "bob")
    access = tokens(client)["access_token"]
    taken = change_email(client, access, "Bob@Example.com")
    assert (taken.status_code, taken.json()["code"]) == (409, "EMAIL_TAKEN")
    assert inbox.quiet_for(1.0) == 0


def test_an_address_taken_before_the_confirmation_is_refused_then(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    access = tokens(client)["access_token"]
    change_email(client, access)
    token = verify_token_of(by_subject(inbox.wait_for(2), CONFIRM))
    register(client, "carol", email=NEW)
    late = client.post("/email/verify", json={"token": token})
    assert (late.status_code, late.json()["code"]) == (409, "EMAIL_TAKEN")
    assert me(client, access)["email"] == "alice@example.com"


def test_a_newer_change_replaces_the_older(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    access = tokens(client)["access_token"]
    change_email(client, access)
    change_email(client, access, "alice@newer.example")
    confirms = [m for m in inbox.wait_for(4) if m["Subject"] == CONFIRM]
    first, second = (verify_token_of(m) for m in confirms)
    assert client.post("/email/verify", json={"token": first}).json()["code"] == (
        "INVALID_VERIFY_TOKEN"
    )
    assert client.post("/email/verify", json={"token": second}).status_code == 200
    assert me(client, access)["email"] == "alice@newer.example"


def test_a_wrong_current_password_mails_nothing(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    access = tokens(client)["access_token"]
    body = {"email": NEW, "current_password": "not the password at all"}
    refused = client.put("/update", json=body, headers=bearer(access))
    assert (refused.status_code, refused.json()["code"]) == (403, "INVALID_CURRENT_PASSWORD")
    assert inbox.quiet_for(1.0) == 0


def test_a_change_of_letter_case_alone_is_applied_at_once(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client, email="Alice@example.com")
    access = tokens(client)["access_token"]
    answer = change_email(client, access, "alice@example.com")
    assert answer.json()["email"] == "alice@example.com"
    assert inbox.quiet_for(1.0) == 0


def test_the_change_is_in_the_audit_trail(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    alice = register(client)
    access = tokens(client)["access_token"]
    change_email(client, access)
    client.post(
        "/email/verify", json={"token": verify_token_of(by_subject(inbox.wait_for(2), CONFIRM))}
    )
    admin = admin_headers(client.app, client)  # type: ignore[arg-type]
    events = [row[0] for row in rows(client, admin, user_id=alice["id"])]
    assert events.index("email_change_request") < events.index("email_change")


def test_a_confirmation_racing_the_cancel_link_always_ends_on_the_old_address(
    mailed: Mailed,
) -> None:
    """Whichever commits first, the owner's link wins: the change is cancelled, or undone."""
    client, inbox = mailed.client, mailed.inbox
    register(client)
    for round_number in range(4):
        access = tokens(client)["access_token"]
        change_email(client, access, f"alice{round_number}@new.example")
        mails = inbox.wait_for(2 * (round_number + 1))[-2:]
        confirm = verify_token_of(by_subject(mails, CONFIRM))
        cancel = not_me_token_of(by_subject(mails, NOTICE))
        barrier = threading.Barrier(2)

        def use(path: str, token: str, barrier: threading.Barrier) -> int:
            barrier.wait()
            return int(client.post(path, json={"token": token}).status_code)

        with ThreadPoolExecutor(2) as pool:
            confirmed = pool.submit(use, "/email/verify", confirm, barrier)
            cancelled = pool.submit(use, "/account/not-me", cancel, barrier)
            assert cancelled.result() == 204
            assert confirmed.result() in (200, 400)
        assert me(client, tokens(client)["access_token"])["email"] == "alice@example.com"
