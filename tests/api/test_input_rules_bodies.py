"""Body-level input rules: U+0000, unknown fields, 422 bodies that never echo the request,
and rejected registrations that leave the database as it was."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from A_DatabasePackage.database import Database
from tests.support import STRONG_PASSWORD, bearer, login, register, user_count

SECRET = "Recognisable-Secret-Passw0rd!"
REGISTER_BODY = {"username": "bob", "email": "bob@example.com", "password": SECRET}
ECHO_KEYS = {"input", "ctx", "url"}


def all_keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from all_keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from all_keys(item)


def assert_quiet_validation_error(response: httpx.Response, *secrets: str) -> list[Any]:
    """A 422 VALIDATION_ERROR list that echoes neither the body nor any of `secrets`."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"detail", "code"}
    assert body["code"] == "VALIDATION_ERROR"
    detail: list[Any] = body["detail"]
    assert isinstance(detail, list)
    assert detail
    for item in detail:
        assert {"loc", "msg", "type"} <= set(item)
    assert not ECHO_KEYS & set(all_keys(body)), body
    for secret in (SECRET, *secrets):
        assert secret not in response.text
    return detail


def locations(detail: list[Any]) -> list[list[Any]]:
    return [item["loc"] for item in detail]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", "bo\x00b"),
        ("username", "\x00bob"),
        ("email", "bob\x00@example.com"),
        ("email", "bob@example.com\x00"),
        ("password", "correct horse\x00battery"),
        ("password", "\x00" * 20),
        ("full_name", "Bob\x00Builder"),
        ("full_name", "\x00"),
    ],
)
def test_nul_in_a_register_field_is_422(
    client: TestClient, database: Database, field: str, value: str
) -> None:
    detail = assert_quiet_validation_error(
        client.post("/register", json={**REGISTER_BODY, field: value})
    )
    assert ["body", field] in locations(detail)
    assert user_count(database) == 0


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "alice\x00", "password": STRONG_PASSWORD},
        {"username": "alice\x00@example.com", "password": STRONG_PASSWORD},
        {"username": "alice", "password": STRONG_PASSWORD + "\x00"},
        {"username": "\x00", "password": "\x00"},
    ],
)
def test_nul_in_sign_in_fields_is_422(client: TestClient, credentials: dict[str, str]) -> None:
    register(client, "alice")
    assert_quiet_validation_error(client.post("/login", json=credentials), STRONG_PASSWORD)
    assert_quiet_validation_error(client.post("/login", data=credentials), STRONG_PASSWORD)
    assert_quiet_validation_error(client.post("/users/code", json=credentials), STRONG_PASSWORD)


@pytest.mark.parametrize(
    "change",
    [
        {"full_name": "Alice\x00"},
        {"username": "ali\x00ce"},
        {"email": "alice@exa\x00mple.com", "current_password": STRONG_PASSWORD},
        {"new_password": "another long\x00password", "current_password": STRONG_PASSWORD},
        {"full_name": "Alice", "current_password": STRONG_PASSWORD + "\x00"},
    ],
)
def test_nul_in_an_update_field_is_422(client: TestClient, change: dict[str, str]) -> None:
    before = register(client, "alice")
    token = login(client, "alice")
    response = client.put("/update", json=change, headers=bearer(token))
    assert_quiet_validation_error(response, STRONG_PASSWORD)
    assert client.get("/users/me", headers=bearer(token)).json() == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("role", "admin"),
        ("role", "user"),
        ("is_active", True),
        ("is_active", False),
        ("id", 1),
        ("hashed_password", "$argon2id$v=19$m=1024,t=1,p=1$xx$yy"),
        ("token_version", 5),
        ("created_at", "2020-01-01T00:00:00Z"),
        ("Username", "bob2"),
    ],
)
def test_unknown_field_on_register_is_422(
    client: TestClient, database: Database, field: str, value: Any
) -> None:
    detail = assert_quiet_validation_error(
        client.post("/register", json={**REGISTER_BODY, field: value})
    )
    assert {"loc": ["body", field], "type": "extra_forbidden"} in [
        {"loc": item["loc"], "type": item["type"]} for item in detail
    ]
    assert user_count(database) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("role", "admin"), ("is_active", False), ("id", 99), ("password", "whatever it is")],
)
def test_unknown_field_on_update_is_422(client: TestClient, field: str, value: Any) -> None:
    before = register(client, "alice")
    token = login(client, "alice")
    response = client.put(
        "/update", json={"full_name": "Alice", field: value}, headers=bearer(token)
    )
    detail = assert_quiet_validation_error(response)
    assert ["body", field] in locations(detail)
    assert client.get("/users/me", headers=bearer(token)).json() == before


@pytest.mark.parametrize(
    "body",
    [
        {"username": "bob", "password": SECRET},
        {"email": "bob@example.com", "password": SECRET},
        {"username": "b", "email": "bob@example.com", "password": SECRET},
        {"username": 42, "email": "bob@example.com", "password": SECRET},
        {"username": "bob", "email": "not an email", "password": SECRET},
        {**REGISTER_BODY, "full_name": "x" * 101},
        {**REGISTER_BODY, "unexpected": SECRET},
        {**REGISTER_BODY, "password": SECRET * 6},
        {**REGISTER_BODY, "password": SECRET[:11]},
        [REGISTER_BODY],
    ],
)
def test_register_422_never_echoes_the_body(
    client: TestClient, database: Database, body: Any
) -> None:
    response = client.post("/register", json=body)
    assert_quiet_validation_error(response, SECRET[:11], "bob@example.com", "not an email")
    assert user_count(database) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"username": "bob"},
        {"password": SECRET},
        {"username": "bob", "password": SECRET, "extra": 1},
        {"username": "", "password": SECRET},
        {"username": ["bob"], "password": SECRET},
    ],
)
def test_sign_in_422_never_echoes_the_body(client: TestClient, body: dict[str, Any]) -> None:
    assert_quiet_validation_error(client.post("/login", json=body))
    assert_quiet_validation_error(client.post("/users/code", json=body))


def test_form_login_422_never_echoes_the_body(client: TestClient) -> None:
    assert_quiet_validation_error(client.post("/login", data={"password": SECRET}))
    response = client.post(
        "/login", data={"username": "bob", "password": SECRET, "grant_type": SECRET + "-grant"}
    )
    assert_quiet_validation_error(response)


BAD_REGISTRATIONS: list[tuple[dict[str, Any], int, str]] = [
    ({"username": "alice", "email": "new@example.com", "password": SECRET}, 409, "USERNAME_TAKEN"),
    ({"username": "ALICE", "email": "new@example.com", "password": SECRET}, 409, "USERNAME_TAKEN"),
    ({"username": "newbie", "email": "ALICE@example.com", "password": SECRET}, 409, "EMAIL_TAKEN"),
    (
        {"username": "newbie", "email": "new@example.com", "password": "short"},
        422,
        "VALIDATION_ERROR",
    ),
    (
        {"username": "newbie", "email": "new@example.com", "password": "x" * 129},
        422,
        "VALIDATION_ERROR",
    ),
    (
        {"username": "newbie", "email": "new@example.com", "password": "1qaz2wsx3edc"},
        422,
        "WEAK_PASSWORD",
    ),
    (
        {"username": "newbie", "email": "new@example.com", "password": "PASSWORD1234"},
        422,
        "WEAK_PASSWORD",
    ),
    (
        {"username": "newbie123456", "email": "n@example.com", "password": "NEWBIE123456"},
        422,
        "WEAK_PASSWORD",
    ),
    (
        {"username": "newbie", "email": "new.one@example.com", "password": "NEW.one@example.com"},
        422,
        "WEAK_PASSWORD",
    ),
    (
        {"username": "_newbie", "email": "new@example.com", "password": SECRET},
        422,
        "VALIDATION_ERROR",
    ),
    ({"username": "newbie", "email": "new@", "password": SECRET}, 422, "VALIDATION_ERROR"),
    (
        {"username": "newbie", "email": "new@example.com", "password": SECRET, "role": "admin"},
        422,
        "VALIDATION_ERROR",
    ),
    (
        {
            "username": "newbie",
            "email": "new@example.com",
            "password": SECRET,
            "full_name": "n" * 101,
        },
        422,
        "VALIDATION_ERROR",
    ),
    (
        {"username": "newbie", "email": "new@example.com", "password": SECRET + "\x00"},
        422,
        "VALIDATION_ERROR",
    ),
    ({"username": "newbie", "email": "new@example.com"}, 422, "VALIDATION_ERROR"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_REGISTRATIONS)
def test_rejected_registration_changes_nothing(
    client: TestClient, database: Database, body: dict[str, Any], status: int, code: str
) -> None:
    existing = register(client, "alice", "alice@example.com")
    response = client.post("/register", json=body)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"detail", "code"}
    assert response.json()["code"] == code
    assert user_count(database) == 1

    password = body.get("password")
    if isinstance(password, str):
        parsable = "\x00" not in password and len(password) <= 128
        for name in (body["username"], body["email"]):
            attempt = client.post("/login", json={"username": name, "password": password})
            assert attempt.status_code == (401 if parsable else 422), attempt.text
    token = login(client, "alice")
    assert client.get("/users/me", headers=bearer(token)).json() == existing
