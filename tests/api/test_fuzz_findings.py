"""Bugs the schemathesis and hypothesis runs found, pinned down as plain regression tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from A_DatabasePackage.database import Database
from A_DatabasePackage.migrations_runner import alembic_config, upgrade_to_head
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


UNICODE_EMAIL = "Élise@Example.com"


def test_unicode_email_signs_in_in_any_case_and_stays_unique(client: TestClient) -> None:
    """Found by hypothesis: SQLite's lower() folds only ASCII and sign-in lowered the name in
    Python, so on SQLite `Élise@...` could not sign in at all (not even as registered) and
    `élise@...` could register beside it."""
    register(client, "elise", email=UNICODE_EMAIL)
    for name in ("Élise@example.com", "élise@example.com", "ÉLISE@EXAMPLE.COM"):
        assert login(client, name)
    taken = client.post(
        "/register",
        json={"username": "other", "email": "élise@example.com", "password": STRONG_PASSWORD},
    )
    assert_error(taken, 409, "EMAIL_TAKEN")


def test_email_with_a_letter_python_and_the_database_lower_differently(
    client: TestClient,
) -> None:
    """`İ` (U+0130) lowers to two code points in Python and to `i` in PostgreSQL: the sign-in
    lowered one side in Python and the other in the database, so the account registered as
    `İnci@...` could not sign in with its own email on PostgreSQL."""
    register(client, "inci", email="İnci@example.com")
    assert login(client, "İnci@example.com")
    assert login(client, "İNCI@example.com")


def test_migration_rebuilds_sqlite_indexes_with_the_unicode_lower(tmp_path: Path) -> None:
    """A database filled before 0004 (built-in lower) gets indexes that agree with the new one."""
    url = make_url(f"sqlite:///{tmp_path / 'old.db'}")
    plain = create_engine(url)  # no Unicode lower(): as the service was before
    with plain.connect() as connection:
        command.upgrade(alembic_config(connection), "0002_sessions")
        connection.execute(
            text(
                "INSERT INTO users (username, email, hashed_password, role, is_active,"
                " token_version, created_at, updated_at) VALUES ('elise', :email, 'x', 'user',"
                " 1, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            ),
            {"email": UNICODE_EMAIL},
        )
        connection.commit()
    plain.dispose()
    database = Database(url)
    try:
        upgrade_to_head(database)
        with database.engine.connect() as connection, pytest.raises(IntegrityError):
            connection.execute(
                text(
                    "INSERT INTO users (username, email, hashed_password, role, is_active,"
                    " token_version, created_at, updated_at) VALUES ('other', :email, 'x',"
                    " 'user', 1, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                ),
                {"email": "élise@example.com"},
            )
    finally:
        database.dispose()
