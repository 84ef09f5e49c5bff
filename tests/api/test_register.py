"""POST /register: the created account, uniqueness, and the username and password rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from A_DatabasePackage.database import Database
from I_ControllerPackage.app_factory import create_app
from tests.support import STRONG_PASSWORD, bearer, login, make_settings, register, user_count

USER_OUT_KEYS = {
    "id",
    "username",
    "email",
    "full_name",
    "role",
    "is_active",
    "created_at",
    "updated_at",
    "email_verified",
}


def post_register(client: TestClient, **fields: Any) -> httpx.Response:
    body = {"username": "alice", "email": "alice@example.com", "password": STRONG_PASSWORD}
    body.update(fields)
    response: httpx.Response = client.post("/register", json=body)
    return response


def parse_utc(value: Any) -> datetime:
    assert isinstance(value, str)
    assert value.endswith(("Z", "+00:00")), value
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0)
    return parsed


def assert_validation_error(response: httpx.Response, field: str, error_type: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"detail", "code"}
    assert body["code"] == "VALIDATION_ERROR"
    assert isinstance(body["detail"], list)
    assert {"loc": ["body", field], "type": error_type} in [
        {"loc": item["loc"], "type": item["type"]} for item in body["detail"]
    ], body


def assert_weak_password(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"detail", "code"}
    assert body["code"] == "WEAK_PASSWORD"
    assert isinstance(body["detail"], str)
    assert body["detail"]


def test_register_returns_the_new_account(client: TestClient) -> None:
    before = datetime.now(UTC)
    response = post_register(client, full_name="Alice Liddell")
    after = datetime.now(UTC)

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == USER_OUT_KEYS
    assert isinstance(body["id"], int)
    assert not isinstance(body["id"], bool)
    assert response.headers["Location"] == f"/users/{body['id']}"
    assert body["username"] == "alice"
    assert body["email"] == "alice@example.com"
    assert body["full_name"] == "Alice Liddell"
    assert body["role"] == "user"
    assert body["is_active"] is True
    created = parse_utc(body["created_at"])
    assert parse_utc(body["updated_at"]) == created
    assert before - timedelta(seconds=1) <= created <= after + timedelta(seconds=1)
    assert "password" not in response.text
    assert STRONG_PASSWORD not in response.text
    assert "argon2" not in response.text


def test_registered_account_is_what_users_me_shows(client: TestClient) -> None:
    created = register(client, "Carol.Smith-1", "carol@example.com")
    assert client.get("/users/me", headers=bearer(login(client, "carol.smith-1"))).json() == (
        created
    )


def test_full_name_is_optional_and_null_when_absent(client: TestClient) -> None:
    assert register(client, "alice")["full_name"] is None
    assert register(client, "bob", full_name=None)["full_name"] is None
    assert register(client, "carol", full_name="")["full_name"] == ""


def test_full_name_up_to_100_characters(client: TestClient, database: Database) -> None:
    assert register(client, "alice", full_name="é" * 100)["full_name"] == "é" * 100
    response = post_register(client, username="bob", email="bob@example.com", full_name="b" * 101)
    assert_validation_error(response, "full_name", "string_too_long")
    assert user_count(database) == 1


def test_username_in_another_case_is_taken(client: TestClient, database: Database) -> None:
    created = register(client, "Alice", "first@example.com")
    assert created["username"] == "Alice"

    response = post_register(client, username="alice", email="second@example.com")
    assert response.status_code == 409, response.text
    assert set(response.json()) == {"detail", "code"}
    assert response.json()["code"] == "USERNAME_TAKEN"
    assert post_register(client, username="ALICE", email="third@example.com").json()["code"] == (
        "USERNAME_TAKEN"
    )
    assert user_count(database) == 1


def test_email_is_unique_ignoring_case(client: TestClient, database: Database) -> None:
    register(client, "alice", "Alice@Example.com")
    for email in ("alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.com"):
        response = post_register(client, username="bob", email=email)
        assert response.status_code == 409, response.text
        assert set(response.json()) == {"detail", "code"}
        assert response.json()["code"] == "EMAIL_TAKEN"
    assert user_count(database) == 1


def test_email_domain_is_lower_cased_and_local_part_kept(client: TestClient) -> None:
    created = register(client, "alice", "Alice.Smith@Example.COM")
    assert created["email"] == "Alice.Smith@example.com"
    assert login(client, "alice.smith@EXAMPLE.com")


@pytest.mark.parametrize(
    "email",
    ["not-an-email", "alice@", "@example.com", "alice@@example.com", "alice@exa mple.com", ""],
)
def test_invalid_email_is_refused(client: TestClient, database: Database, email: str) -> None:
    assert_validation_error(post_register(client, email=email), "email", "value_error")
    assert user_count(database) == 0


@pytest.mark.parametrize(
    "username", ["abc", "a" * 32, "9lives", "a.b-c_d", "A_B", "x--", "0.0", "Z9_"]
)
def test_valid_usernames_are_accepted(client: TestClient, username: str) -> None:
    assert register(client, username, "someone@example.com")["username"] == username


@pytest.mark.parametrize(
    ("username", "error_type"),
    [
        ("ab", "string_too_short"),
        ("a", "string_too_short"),
        ("", "string_too_short"),
        ("a" * 33, "string_too_long"),
        ("_alice", "string_pattern_mismatch"),
        (".alice", "string_pattern_mismatch"),
        ("-alice", "string_pattern_mismatch"),
        ("al ice", "string_pattern_mismatch"),
        ("alice!", "string_pattern_mismatch"),
        ("alice@home", "string_pattern_mismatch"),
        ("álice", "string_pattern_mismatch"),
        ("alice\n", "string_pattern_mismatch"),
        (" alice", "string_pattern_mismatch"),
    ],
)
def test_invalid_usernames_are_refused(
    client: TestClient, database: Database, username: str, error_type: str
) -> None:
    assert_validation_error(post_register(client, username=username), "username", error_type)
    assert user_count(database) == 0


def test_password_shorter_than_12_is_refused(client: TestClient, database: Database) -> None:
    response = post_register(client, password="a1b2c3d4e5f")
    assert_validation_error(response, "password", "string_too_short")
    assert "12" in response.json()["detail"][0]["msg"]
    assert user_count(database) == 0
    assert register(client, "alice", password="a1b2c3d4e5f6")["username"] == "alice"


def test_password_longer_than_128_is_refused(client: TestClient, database: Database) -> None:
    assert_validation_error(
        post_register(client, password="z" * 129), "password", "string_too_long"
    )
    assert user_count(database) == 0
    register(client, "alice", password="Q" * 128)
    assert login(client, "alice", "Q" * 128)


def test_password_length_is_counted_in_code_points(client: TestClient, database: Database) -> None:
    eleven = "\U0001f600\U0001f60e\U0001f680\U0001f525" * 2 + "\U0001f308\U0001f355\U0001f31f"
    twelve = eleven + "\U0001f984"
    assert len(eleven.encode("utf-8")) > 12
    assert_validation_error(post_register(client, password=eleven), "password", "string_too_short")
    assert user_count(database) == 0

    register(client, "alice", password=twelve)
    assert login(client, "alice", twelve)
    assert_validation_error(
        post_register(client, username="bob", email="bob@example.com", password="\U0001f600" * 129),
        "password",
        "string_too_long",
    )
    register(client, "carol", password="\U0001f984" * 128)
    assert login(client, "carol", "\U0001f984" * 128)


def test_long_password_is_never_truncated(client: TestClient) -> None:
    password = "".join(f"{n:02d}-word " for n in range(12))  # 96 characters, no repeats
    assert len(password) > 72
    register(client, "alice", password=password)
    assert login(client, "alice", password)
    for prefix in (password[:72], password[:64], password[:-1]):
        response = client.post("/login", json={"username": "alice", "password": prefix})
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "INVALID_CREDENTIALS"


@pytest.mark.parametrize(
    "password",
    ["1qaz2wsx3edc", "password1234", "PASSWORD1234", "Password1234", "pAsSwOrD1234"],
)
def test_common_passwords_are_weak(client: TestClient, database: Database, password: str) -> None:
    assert_weak_password(post_register(client, password=password))
    assert user_count(database) == 0


def test_password_equal_to_username_ignoring_case_is_weak(
    client: TestClient, database: Database
) -> None:
    response = post_register(client, username="LongUsername1", password="longusername1")
    assert_weak_password(response)
    response = post_register(client, username="longusername1", password="LONGUSERNAME1")
    assert_weak_password(response)
    assert user_count(database) == 0


def test_password_equal_to_email_ignoring_case_is_weak(
    client: TestClient, database: Database
) -> None:
    for password in ("someone.long@example.com", "SOMEONE.LONG@EXAMPLE.COM"):
        assert_weak_password(
            post_register(client, email="Someone.Long@Example.com", password=password)
        )
    assert user_count(database) == 0


def test_password_min_length_setting_is_respected(database_url: str, database: Database) -> None:
    settings = make_settings(database_url, PASSWORD_MIN_LENGTH=20, AUTO_MIGRATE=False)
    with TestClient(create_app(settings)) as client:
        response = post_register(client, password="x1y2z3" * 3 + "a")  # 19 characters
        assert_validation_error(response, "password", "string_too_short")
        assert "20" in response.json()["detail"][0]["msg"]
        assert user_count(database) == 0
        assert register(client, "alice", password="x1y2z3" * 3 + "ab")["username"] == "alice"
        assert user_count(database) == 1
