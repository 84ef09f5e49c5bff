"""PUT /update: the signed-in user changes their own account."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.admin_support import assert_error
from tests.support import (
    OTHER_STRONG_PASSWORD,
    STRONG_PASSWORD,
    FakeClock,
    bearer,
    login,
    register,
)


@pytest.fixture
def alice(client: TestClient) -> dict[str, Any]:
    user = register(client, "alice", full_name="Alice")
    return {"user": user, "headers": bearer(login(client, "alice"))}


def update(client: TestClient, alice: dict[str, Any], body: Any) -> Any:
    return client.put("/update", json=body, headers=alice["headers"])


def read_me(client: TestClient, alice: dict[str, Any]) -> dict[str, Any]:
    response = client.get("/users/me", headers=alice["headers"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def login_status(client: TestClient, username: str, password: str) -> int:
    response = client.post("/login", json={"username": username, "password": password})
    status: int = response.status_code
    return status


def test_change_username_without_current_password(
    client: TestClient, alice: dict[str, Any]
) -> None:
    response = update(client, alice, {"username": "alice2"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["username"] == "alice2"
    assert body["id"] == alice["user"]["id"]
    assert body["email"] == alice["user"]["email"]
    # A username change does not end the session, and the new name signs in.
    assert read_me(client, alice) == body
    assert login_status(client, "alice2", STRONG_PASSWORD) == 200
    assert login_status(client, "alice", STRONG_PASSWORD) == 401


def test_change_case_of_own_username(client: TestClient, alice: dict[str, Any]) -> None:
    response = update(client, alice, {"username": "Alice"})
    assert response.status_code == 200, response.text
    assert response.json()["username"] == "Alice"


def test_change_and_clear_full_name(client: TestClient, alice: dict[str, Any]) -> None:
    response = update(client, alice, {"full_name": "Alice Liddell"})
    assert response.status_code == 200
    assert response.json()["full_name"] == "Alice Liddell"
    assert read_me(client, alice)["full_name"] == "Alice Liddell"
    cleared = update(client, alice, {"full_name": None})
    assert cleared.status_code == 200
    assert cleared.json()["full_name"] is None


def test_updated_at_moves_forward(
    client: TestClient, clock: FakeClock, alice: dict[str, Any]
) -> None:
    clock.advance(minutes=5)
    response = update(client, alice, {"full_name": "Later"})
    assert response.status_code == 200
    body = response.json()
    before = datetime.fromisoformat(alice["user"]["updated_at"])
    after = datetime.fromisoformat(body["updated_at"])
    assert after.utcoffset() is not None
    assert (after - before).total_seconds() >= 299
    assert body["created_at"] == alice["user"]["created_at"]


@pytest.mark.parametrize(
    "body",
    [
        {"email": "new@example.com"},
        {"new_password": OTHER_STRONG_PASSWORD},
        {"email": "new@example.com", "username": "alice2"},
        {"email": "new@example.com", "current_password": None},
    ],
)
def test_email_and_password_need_current_password(
    client: TestClient, alice: dict[str, Any], body: dict[str, Any]
) -> None:
    assert_error(update(client, alice, body), 422, "VALIDATION_ERROR")
    assert read_me(client, alice) == alice["user"]


@pytest.mark.parametrize(
    "body",
    [
        {"email": "new@example.com"},
        {"new_password": OTHER_STRONG_PASSWORD},
        {"username": "alice2", "email": "new@example.com"},
        {"username": "alice2", "current_password": "wrong password 12345"},
    ],
)
def test_wrong_current_password_changes_nothing(
    client: TestClient, alice: dict[str, Any], body: dict[str, Any]
) -> None:
    sent = {**body, "current_password": "wrong password 12345"}
    assert_error(update(client, alice, sent), 403, "INVALID_CURRENT_PASSWORD")
    assert read_me(client, alice) == alice["user"]
    assert login_status(client, "alice", STRONG_PASSWORD) == 200
    assert login_status(client, "alice", OTHER_STRONG_PASSWORD) == 401


def test_change_email_with_current_password(client: TestClient, alice: dict[str, Any]) -> None:
    """The new address takes effect once it confirms (tests/api/test_email_change.py)."""
    body = {"email": "Alice.New@EXAMPLE.ORG", "current_password": STRONG_PASSWORD}
    response = update(client, alice, body)
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "alice@example.com"
    assert read_me(client, alice)["email"] == "alice@example.com"
    assert login_status(client, "alice.new@example.org", STRONG_PASSWORD) == 401
    assert login_status(client, "alice@example.com", STRONG_PASSWORD) == 200


def test_password_change_ends_old_tokens(client: TestClient, alice: dict[str, Any]) -> None:
    body = {"new_password": OTHER_STRONG_PASSWORD, "current_password": STRONG_PASSWORD}
    response = update(client, alice, body)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == alice["user"]["id"]
    assert_error(client.get("/users/me", headers=alice["headers"]), 401, "INVALID_TOKEN")
    assert login_status(client, "alice", STRONG_PASSWORD) == 401
    fresh = bearer(login(client, "alice", OTHER_STRONG_PASSWORD))
    assert client.get("/users/me", headers=fresh).status_code == 200


@pytest.mark.parametrize("body", [{}, {"current_password": STRONG_PASSWORD}])
def test_nothing_to_change(client: TestClient, alice: dict[str, Any], body: dict[str, Any]) -> None:
    assert_error(update(client, alice, body), 422, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "body",
    [
        {"role": "admin"},
        {"is_active": False},
        {"id": 99},
        {"full_name": "x", "role": "admin"},
        {"password": OTHER_STRONG_PASSWORD},
        {"hashed_password": "x"},
        {"token_version": 5},
    ],
)
def test_unknown_fields_are_refused(
    client: TestClient, alice: dict[str, Any], body: dict[str, Any]
) -> None:
    response = update(client, alice, body)
    assert_error(response, 422, "VALIDATION_ERROR")
    assert OTHER_STRONG_PASSWORD not in response.text
    assert read_me(client, alice) == alice["user"]


@pytest.mark.parametrize(
    "body",
    [
        {"username": "ab"},
        {"username": "-alice"},
        {"username": None},
        {"email": "not-an-email", "current_password": STRONG_PASSWORD},
        {"full_name": "x" * 101},
        {"full_name": "a\u0000b"},
        [],
        "alice",
    ],
)
def test_invalid_values(client: TestClient, alice: dict[str, Any], body: Any) -> None:
    assert_error(update(client, alice, body), 422, "VALIDATION_ERROR")
    assert read_me(client, alice) == alice["user"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"username": "bob"}, "USERNAME_TAKEN"),
        ({"username": "BOB"}, "USERNAME_TAKEN"),
        ({"email": "bob@example.com", "current_password": STRONG_PASSWORD}, "EMAIL_TAKEN"),
        ({"email": "BOB@Example.com", "current_password": STRONG_PASSWORD}, "EMAIL_TAKEN"),
    ],
)
def test_conflicts_with_another_account(
    client: TestClient, alice: dict[str, Any], body: dict[str, Any], code: str
) -> None:
    register(client, "bob")
    assert_error(update(client, alice, body), 409, code)
    assert read_me(client, alice) == alice["user"]


@pytest.mark.parametrize(
    ("new_password", "status", "code"),
    [
        ("1qaz2wsx3edc", 422, "WEAK_PASSWORD"),
        ("alice@example.com", 422, "WEAK_PASSWORD"),
        ("Tiny-Pw-7", 422, "VALIDATION_ERROR"),
        ("x" * 11, 422, "VALIDATION_ERROR"),
        ("x" * 129, 422, "VALIDATION_ERROR"),
    ],
)
def test_new_password_rules(
    client: TestClient, alice: dict[str, Any], new_password: str, status: int, code: str
) -> None:
    body = {"new_password": new_password, "current_password": STRONG_PASSWORD}
    response = update(client, alice, body)
    assert_error(response, status, code)
    assert new_password not in response.text
    assert read_me(client, alice) == alice["user"]
    assert login_status(client, "alice", STRONG_PASSWORD) == 200


def test_new_password_equal_to_the_new_username_is_weak(
    client: TestClient, alice: dict[str, Any]
) -> None:
    body = {
        "username": "longusername12",
        "new_password": "LongUsername12",
        "current_password": STRONG_PASSWORD,
    }
    assert_error(update(client, alice, body), 422, "WEAK_PASSWORD")
    assert read_me(client, alice) == alice["user"]
