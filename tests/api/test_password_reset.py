"""Password reset through HTTP, with mail delivered over SMTP to a real server on loopback
(aiosmtpd): the link and the code, single use, replacement, expiry (the injected clock),
code attempts, enumeration, what a reset ends, and the notice it mails."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from A_DatabasePackage.settings import Settings
from I_ControllerPackage.app_factory import create_app
from tests.mail_support import (
    VERIFICATION_SUBJECTS,
    Inbox,
    reset_code_of,
    reset_token_of,
    smtp_server,
    text_of,
)
from tests.support import OTHER_STRONG_PASSWORD, STRONG_PASSWORD, FakeClock, bearer, register

NEW_PASSWORD = "a brand new passphrase"
ACCEPTED = {
    "detail": (
        "If an account uses this address, a message with a link and a code is on its way. "
        "The link and the code work once, for a limited time."
    )
}


@dataclass
class Mailed:
    client: TestClient
    inbox: Inbox


def mail_settings(settings: Settings, port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": port,
        "SMTP_STARTTLS": False,
        "PUBLIC_BASE_URL": "https://auth.example.com",
        **overrides,
    }
    return settings.model_copy(update=values)


@pytest.fixture
def mailed(settings: Settings, clock: FakeClock) -> Iterator[Mailed]:
    with smtp_server(VERIFICATION_SUBJECTS) as (inbox, port):
        app = create_app(mail_settings(settings, port), clock)
        with TestClient(app) as client:
            yield Mailed(client, inbox)


def forgot(client: TestClient, email: str = "alice@example.com") -> Any:
    return client.post("/password/forgot", json={"email": email})


def reset(client: TestClient, **body: str) -> Any:
    return client.post("/password/reset", json={"new_password": NEW_PASSWORD, **body})


def signs_in(client: TestClient, password: str) -> bool:
    response = client.post("/login", json={"username": "alice", "password": password})
    return bool(response.status_code == 200)


def test_the_mailed_link_sets_a_new_password_once(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    response = forgot(client)
    assert response.status_code == 202
    assert response.json() == ACCEPTED
    (mail,) = inbox.wait_for(1)
    assert mail["To"] == "alice@example.com"
    assert mail["Subject"] == "Reset your password"
    assert "https://auth.example.com/password/reset?token=" in text_of(mail)
    token = reset_token_of(mail)
    assert len(token) >= 43  # 256 bits, URL-safe

    assert reset(client, token=token).status_code == 204
    assert signs_in(client, NEW_PASSWORD)
    assert not signs_in(client, STRONG_PASSWORD)
    again = reset(client, token=token, new_password=OTHER_STRONG_PASSWORD)
    assert again.status_code == 400
    assert again.json()["code"] == "INVALID_RESET_TOKEN"


def test_the_mailed_code_with_the_email_sets_a_new_password(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    forgot(client)
    code = reset_code_of(inbox.wait_for(1)[0])
    assert reset(client, email="Alice@Example.com", code=code).status_code == 204
    assert signs_in(client, NEW_PASSWORD)
    again = reset(client, email="alice@example.com", code=code)
    assert again.json()["code"] == "INVALID_RESET_CODE"


def test_an_unknown_address_gets_the_same_answer_and_no_mail(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    unknown = forgot(client, "nobody@example.com")
    known = forgot(client, "alice@example.com")
    assert (unknown.status_code, unknown.json()) == (known.status_code, known.json())
    assert unknown.headers.keys() - {"x-request-id"} == known.headers.keys() - {"x-request-id"}
    inbox.wait_for(1)
    assert inbox.quiet_for(1.0) == 1
    assert inbox.recipients == [["alice@example.com"]]


def test_a_reset_ends_every_session_and_token_and_mails_a_notice(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    signed_in = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
    access, refresh = signed_in.json()["access_token"], signed_in.json()["refresh_token"]
    forgot(client)
    assert reset(client, token=reset_token_of(inbox.wait_for(1)[0])).status_code == 204
    assert client.get("/users/me", headers=bearer(access)).status_code == 401
    assert client.post("/token/refresh", json={"refresh_token": refresh}).status_code == 401
    notice = inbox.wait_for(2)[1]
    assert notice["Subject"] == "Your password was changed"
    assert "signed out" in text_of(notice)


def test_a_newer_request_replaces_the_older(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    forgot(client)
    first = inbox.wait_for(1)[0]
    forgot(client)
    second = inbox.wait_for(2)[1]
    assert reset(client, token=reset_token_of(first)).json()["code"] == "INVALID_RESET_TOKEN"
    refused = reset(client, email="alice@example.com", code=reset_code_of(first))
    if reset_code_of(first) != reset_code_of(second):
        assert refused.json()["code"] == "INVALID_RESET_CODE"
    assert reset(client, token=reset_token_of(second)).status_code == 204


def test_the_link_expires(mailed: Mailed, clock: FakeClock) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    forgot(client)
    mail = inbox.wait_for(1)[0]
    assert "within 30 minutes" in text_of(mail)
    clock.advance(minutes=31)
    assert reset(client, token=reset_token_of(mail)).json()["code"] == "INVALID_RESET_TOKEN"
    code = reset_code_of(mail)
    assert reset(client, email="alice@example.com", code=code).status_code == 400
    assert signs_in(client, STRONG_PASSWORD)


def test_a_weak_new_password_is_refused_and_leaves_the_link_usable(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    forgot(client)
    token = reset_token_of(inbox.wait_for(1)[0])
    weak = reset(client, token=token, new_password="password1234")
    assert weak.status_code == 422
    assert weak.json()["code"] == "WEAK_PASSWORD"
    assert reset(client, token=token).status_code == 204


def test_a_get_of_the_link_shows_a_form_and_spends_nothing(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    forgot(client)
    token = reset_token_of(inbox.wait_for(1)[0])
    for _ in range(3):  # a mail scanner, a link preview, the person
        page = client.get("/password/reset", params={"token": token})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert f'name="token" value="{token}"' in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "script" not in page.text
    assert reset(client, token=token).status_code == 204


def test_the_page_form_resets_and_answers_a_page(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    assert client.post("/password/forgot", data={"email": "alice@example.com"}).status_code == 202
    token = reset_token_of(inbox.wait_for(1)[0])
    done = client.post("/password/reset", data={"token": token, "new_password": NEW_PASSWORD})
    assert done.status_code == 200
    assert "Password changed" in done.text
    again = client.post("/password/reset", data={"token": token, "new_password": NEW_PASSWORD})
    assert again.status_code == 400
    assert "invalid, expired or already used" in again.text


def test_a_code_allows_five_attempts(settings: Settings, clock: FakeClock) -> None:
    """Wrong codes also count as failed sign-ins; here the limits are wide so the code's own
    bound shows: after five wrong codes even the right one is refused."""
    wide = settings.model_copy(update={"LOGIN_MAX_FAILURES": 100})
    with smtp_server(VERIFICATION_SUBJECTS) as (inbox, port):
        app = create_app(mail_settings(wide, port), clock)
        with TestClient(app) as client:
            register(client)
            forgot(client)
            code = reset_code_of(inbox.wait_for(1)[0])
            wrong = f"{(int(code) + 1) % 10**8:08d}"
            for _ in range(5):
                refused = reset(client, email="alice@example.com", code=wrong)
                assert refused.json()["code"] == "INVALID_RESET_CODE"
            late = reset(client, email="alice@example.com", code=code)
            assert late.json()["code"] == "INVALID_RESET_CODE"
            assert signs_in(client, STRONG_PASSWORD)


def test_wrong_codes_count_as_failed_sign_ins(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    forgot(client)
    code = reset_code_of(inbox.wait_for(1)[0])
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    for _ in range(5):
        assert reset(client, email="alice@example.com", code=wrong).status_code == 400
    locked = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
    assert locked.status_code == 429


def test_reset_requests_are_limited_per_address(mailed: Mailed) -> None:
    client = mailed.client
    statuses = [forgot(client, f"someone{index}@example.com").status_code for index in range(6)]
    assert statuses == [202] * 5 + [429]


def test_two_resets_with_one_token_at_once_change_the_password_once(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    forgot(client)
    token = reset_token_of(inbox.wait_for(1)[0])
    barrier = threading.Barrier(6)

    def one(index: int) -> int:
        barrier.wait(timeout=10)
        password = f"racing passphrase number {index}"
        status: int = reset(client, token=token, new_password=password).status_code
        return status

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(one, range(6)))
    assert statuses == [204] + [400] * 5


def test_a_password_change_spends_a_pending_reset_link(mailed: Mailed) -> None:
    client, inbox = mailed.client, mailed.inbox
    register(client)
    forgot(client)
    token = reset_token_of(inbox.wait_for(1)[0])
    access = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
    change = client.put(
        "/update",
        json={"new_password": OTHER_STRONG_PASSWORD, "current_password": STRONG_PASSWORD},
        headers=bearer(access.json()["access_token"]),
    )
    assert change.status_code == 200
    assert reset(client, token=token).json()["code"] == "INVALID_RESET_TOKEN"


@pytest.mark.parametrize(
    "body",
    [
        {"new_password": NEW_PASSWORD},
        {"new_password": NEW_PASSWORD, "token": "t", "email": "a@example.com", "code": "12345678"},
        {"new_password": NEW_PASSWORD, "email": "a@example.com"},
        {"new_password": NEW_PASSWORD, "email": "a@example.com", "code": "1234"},
        {"new_password": NEW_PASSWORD, "token": "abc\x00def"},
        {"new_password": NEW_PASSWORD, "token": "x", "role": "admin"},
    ],
)
def test_malformed_reset_bodies_are_422(client: TestClient, body: dict[str, str]) -> None:
    response = client.post("/password/reset", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("body", [{}, {"email": "not an address"}, {"email": "a\x00@b.com"}])
def test_malformed_forgot_bodies_are_422(client: TestClient, body: dict[str, str]) -> None:
    response = client.post("/password/forgot", json=body)
    assert response.status_code == 422


def test_pending_mails_show_in_the_metrics(settings: Settings, clock: FakeClock) -> None:
    with smtp_server() as (_, port):
        pass  # nothing listens there any more: every delivery fails and is retried later
    app = create_app(mail_settings(settings, port), clock)
    with TestClient(app) as client:
        register(client)  # the verification mail
        forgot(client)
        forgot(client, "nobody@example.com")
        deadline = time.monotonic() + 15
        while "auth_mail_outbox_pending 2.0" not in client.get("/metrics").text:
            assert time.monotonic() < deadline, client.get("/metrics").text
            time.sleep(0.1)
