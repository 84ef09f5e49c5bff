"""Bugs the schemathesis and hypothesis runs found, pinned down as plain regression tests."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.admin_support import admin_headers, assert_error, me_status
from tests.support import OTHER_STRONG_PASSWORD, STRONG_PASSWORD, bearer, login, register


@pytest.mark.parametrize(
    ("change", "code"),
    [({"username": "BOB"}, "USERNAME_TAKEN"), ({"email": "Bob@EXAMPLE.com"}, "EMAIL_TAKEN")],
)
def test_password_change_with_a_taken_name_is_409_and_changes_nothing(
    client: TestClient, change: dict[str, str], code: str
) -> None:
    """Found by schemathesis: a taken username or email sent together with new_password
    reached the database while the tokens were being ended, outside the 409 translation
    (a 500)."""
    register(client, "alice")
    register(client, "bob")
    token = login(client, "alice")
    response = client.put(
        "/update",
        headers=bearer(token),
        json={**change, "new_password": OTHER_STRONG_PASSWORD, "current_password": STRONG_PASSWORD},
    )
    assert_error(response, 409, code)
    assert me_status(client, bearer(token)) == 200
    assert login(client, "alice", STRONG_PASSWORD)


@pytest.mark.parametrize(
    ("change", "code"),
    [({"username": "Bob"}, "USERNAME_TAKEN"), ({"email": "bob@example.COM"}, "EMAIL_TAKEN")],
)
@pytest.mark.parametrize("ending", [{"role": "admin"}, {"is_active": False}])
def test_admin_change_ending_tokens_with_a_taken_name_is_409(
    app: FastAPI,
    client: TestClient,
    change: dict[str, str],
    code: str,
    ending: dict[str, object],
) -> None:
    """The same bug on PATCH /users/{id}: a role change or a disable ends the tokens."""
    headers = admin_headers(app, client)
    alice = register(client, "alice")
    register(client, "bob")
    alice_token = login(client, "alice")
    response = client.patch(f"/users/{alice['id']}", headers=headers, json={**change, **ending})
    assert_error(response, 409, code)
    assert client.get(f"/users/{alice['id']}", headers=headers).json() == alice
    assert me_status(client, bearer(alice_token)) == 200
