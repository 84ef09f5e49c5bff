"""Hashes made with other Argon2 parameters are re-hashed at the next successful sign-in."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from A_DatabasePackage.database import Database
from I_ControllerPackage.app_factory import create_app
from tests.support import (
    FAST_ARGON2,
    OTHER_STRONG_PASSWORD,
    STRONG_PASSWORD,
    make_settings,
    register,
    sql_unit_of_work,
)

PARAMETERS = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$")


def stored_hash(database: Database, username: str) -> str:
    with sql_unit_of_work(database) as uow:
        user = uow.users.credentials_for_sign_in(username)
        assert user is not None
        return user.hashed_password


def hash_parameters(hashed: str) -> tuple[int, int, int]:
    match = PARAMETERS.match(hashed)
    assert match is not None, "not an Argon2id hash"
    memory, time_cost, parallelism = (int(group) for group in match.groups())
    return memory, time_cost, parallelism


def register_with_old_parameters(database_url: str, **argon2: int) -> None:
    settings = make_settings(database_url, AUTO_MIGRATE=False, **argon2)
    with TestClient(create_app(settings)) as old_client:
        register(old_client, "alice")


def test_stored_hash_uses_the_configured_parameters(client: TestClient, database: Database) -> None:
    register(client, "alice")
    expected = (
        FAST_ARGON2["ARGON2_MEMORY_KIB"],
        FAST_ARGON2["ARGON2_TIME_COST"],
        FAST_ARGON2["ARGON2_PARALLELISM"],
    )
    assert hash_parameters(stored_hash(database, "alice")) == expected


def test_login_rehashes_a_hash_with_other_memory_cost(
    client: TestClient, database_url: str, database: Database
) -> None:
    register_with_old_parameters(database_url, ARGON2_MEMORY_KIB=2048)
    old = stored_hash(database, "alice")
    assert hash_parameters(old)[0] == 2048

    response = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
    assert response.status_code == 200, response.text

    new = stored_hash(database, "alice")
    assert new != old
    assert hash_parameters(new) == (FAST_ARGON2["ARGON2_MEMORY_KIB"], 1, 1)
    again = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
    assert again.status_code == 200, again.text
    assert stored_hash(database, "alice") == new


def test_users_code_rehashes_too(client: TestClient, database_url: str, database: Database) -> None:
    register_with_old_parameters(database_url, ARGON2_TIME_COST=2)
    assert hash_parameters(stored_hash(database, "alice"))[1] == 2
    response = client.post("/users/code", json={"username": "alice", "password": STRONG_PASSWORD})
    assert response.status_code == 200, response.text
    assert hash_parameters(stored_hash(database, "alice"))[1] == 1


def test_failed_login_does_not_rehash(
    client: TestClient, database_url: str, database: Database
) -> None:
    register_with_old_parameters(database_url, ARGON2_MEMORY_KIB=2048)
    old = stored_hash(database, "alice")

    wrong = {"username": "alice", "password": OTHER_STRONG_PASSWORD}
    assert client.post("/login", json=wrong).status_code == 401
    assert client.post("/login", data=wrong).status_code == 401
    assert client.post("/users/code", json=wrong).status_code == 401
    assert stored_hash(database, "alice") == old

    response = client.post("/login", data={"username": "alice", "password": STRONG_PASSWORD})
    assert response.status_code == 200, response.text
    assert hash_parameters(stored_hash(database, "alice"))[0] == FAST_ARGON2["ARGON2_MEMORY_KIB"]
