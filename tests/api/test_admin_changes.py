"""PATCH /users/{id} and DELETE /users/{id}: admins change and remove accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.admin_support import assert_error, create_admin, me_status
from tests.support import STRONG_PASSWORD, FakeClock, bearer, login, register


@pytest.fixture
def setup(app: FastAPI, client: TestClient) -> dict[str, Any]:
    root = create_admin(app, "root")
    bob = register(client, "bob", full_name="Bob")
    return {
        "root": root,
        "bob": bob,
        "admin": bearer(login(client, "root")),
        "bob_headers": bearer(login(client, "bob")),
    }


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def patch(client: TestClient, headers: dict[str, str], user_id: int, body: Any) -> Any:
    return client.patch(f"/users/{user_id}", json=body, headers=headers)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"username": "robert"}, {"username": "robert"}),
        ({"email": "Robert@Example.ORG"}, {"email": "Robert@example.org"}),
        ({"full_name": "Robert Smith"}, {"full_name": "Robert Smith"}),
        ({"full_name": None}, {"full_name": None}),
        ({"role": "admin"}, {"role": "admin"}),
        ({"is_active": False}, {"is_active": False}),
        (
            {"username": "rob", "full_name": "Rob", "role": "admin"},
            {"username": "rob", "full_name": "Rob", "role": "admin"},
        ),
    ],
)
def test_patch_fields(
    client: TestClient,
    clock: FakeClock,
    setup: dict[str, Any],
    body: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    clock.advance(seconds=30)
    response = patch(client, setup["admin"], setup["bob"]["id"], body)
    assert response.status_code == 200, response.text
    changed = response.json()
    untouched = {k: v for k, v in setup["bob"].items() if k not in (*expected, "updated_at")}
    assert changed == {**untouched, **expected, "updated_at": changed["updated_at"]}
    moved = parse_time(changed["updated_at"]) - parse_time(setup["bob"]["updated_at"])
    assert moved.total_seconds() >= 29
    read = client.get(f"/users/{setup['bob']['id']}", headers=setup["admin"])
    assert read.json() == changed


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"role": "superuser"},
        {"role": None},
        {"is_active": None},
        {"is_active": "maybe"},
        {"username": "x"},
        {"email": "nope"},
        {"password": STRONG_PASSWORD},
        {"id": 5},
    ],
)
def test_patch_invalid_bodies(client: TestClient, setup: dict[str, Any], body: Any) -> None:
    response = patch(client, setup["admin"], setup["bob"]["id"], body)
    assert_error(response, 422, "VALIDATION_ERROR")
    read = client.get(f"/users/{setup['bob']['id']}", headers=setup["admin"])
    assert read.json() == setup["bob"]


def test_patch_missing_user(client: TestClient, setup: dict[str, Any]) -> None:
    response = patch(client, setup["admin"], 999_999, {"full_name": "x"})
    assert_error(response, 404, "USER_NOT_FOUND")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"username": "root"}, "USERNAME_TAKEN"),
        ({"username": "ROOT"}, "USERNAME_TAKEN"),
        ({"email": "root@example.com"}, "EMAIL_TAKEN"),
        ({"email": "ROOT@EXAMPLE.COM"}, "EMAIL_TAKEN"),
    ],
)
def test_patch_conflicts(
    client: TestClient, setup: dict[str, Any], body: dict[str, Any], code: str
) -> None:
    assert_error(patch(client, setup["admin"], setup["bob"]["id"], body), 409, code)
    read = client.get(f"/users/{setup['bob']['id']}", headers=setup["admin"])
    assert read.json() == setup["bob"]


def test_patch_forbidden_for_users(client: TestClient, setup: dict[str, Any]) -> None:
    for target in (setup["bob"], setup["root"]):
        response = patch(client, setup["bob_headers"], target["id"], {"role": "admin"})
        assert_error(response, 403, "FORBIDDEN")
    assert client.get("/users/me", headers=setup["bob_headers"]).json()["role"] == "user"


@pytest.mark.parametrize(
    ("body", "ends_tokens"),
    [
        ({"full_name": "Bobby"}, False),
        ({"username": "bobby"}, False),
        ({"role": "user"}, False),
        ({"is_active": True}, False),
        ({"role": "admin"}, True),
        ({"is_active": False}, True),
    ],
)
def test_which_changes_end_tokens(
    client: TestClient, setup: dict[str, Any], body: dict[str, Any], ends_tokens: bool
) -> None:
    response = patch(client, setup["admin"], setup["bob"]["id"], body)
    assert response.status_code == 200, response.text
    after = client.get("/users/me", headers=setup["bob_headers"])
    if ends_tokens:
        assert_error(after, 401, "INVALID_TOKEN")
    else:
        assert after.status_code == 200
        assert after.json() == response.json()
    assert me_status(client, setup["admin"]) == 200


def test_promoted_user_signs_in_again_as_admin(client: TestClient, setup: dict[str, Any]) -> None:
    assert patch(client, setup["admin"], setup["bob"]["id"], {"role": "admin"}).status_code == 200
    promoted = bearer(login(client, "bob"))
    assert client.get("/users", headers=promoted).status_code == 200
    demoted = patch(client, promoted, setup["root"]["id"], {"role": "user"})
    assert demoted.status_code == 200
    assert demoted.json()["role"] == "user"
    assert_error(client.get("/users/me", headers=setup["admin"]), 401, "INVALID_TOKEN")
    root_again = bearer(login(client, "root"))
    assert_error(client.get("/users", headers=root_again), 403, "FORBIDDEN")


@pytest.mark.parametrize("body", [{"role": "user"}, {"is_active": False}])
def test_last_active_admin_cannot_be_demoted_or_disabled(
    client: TestClient, setup: dict[str, Any], body: dict[str, Any]
) -> None:
    response = patch(client, setup["admin"], setup["root"]["id"], body)
    assert_error(response, 409, "LAST_ADMIN")
    me = client.get("/users/me", headers=setup["admin"])
    assert me.status_code == 200
    assert me.json() == setup["root"]


def test_last_admin_by_another_admin_who_is_disabled(
    app: FastAPI, client: TestClient, setup: dict[str, Any]
) -> None:
    spare = create_admin(app, "spare")
    assert patch(client, setup["admin"], spare["id"], {"is_active": False}).status_code == 200
    assert_error(
        patch(client, setup["admin"], setup["root"]["id"], {"role": "user"}), 409, "LAST_ADMIN"
    )
    # A disabled admin may still be demoted: they are not an active admin.
    assert patch(client, setup["admin"], spare["id"], {"role": "user"}).status_code == 200


def test_with_two_admins_one_can_be_demoted(
    app: FastAPI, client: TestClient, setup: dict[str, Any]
) -> None:
    second = create_admin(app, "second")
    second_headers = bearer(login(client, "second"))
    response = patch(client, setup["admin"], second["id"], {"role": "user"})
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "user"
    assert_error(client.get("/users/me", headers=second_headers), 401, "INVALID_TOKEN")
    assert_error(
        patch(client, setup["admin"], setup["root"]["id"], {"role": "user"}), 409, "LAST_ADMIN"
    )


def test_admin_can_demote_self_when_another_admin_remains(
    app: FastAPI, client: TestClient, setup: dict[str, Any]
) -> None:
    create_admin(app, "second")
    response = patch(client, setup["admin"], setup["root"]["id"], {"role": "user"})
    assert response.status_code == 200, response.text
    assert_error(client.get("/users/me", headers=setup["admin"]), 401, "INVALID_TOKEN")


def test_delete_user(client: TestClient, setup: dict[str, Any]) -> None:
    bob_id = setup["bob"]["id"]
    response = client.delete(f"/users/{bob_id}", headers=setup["admin"])
    assert response.status_code == 204
    assert response.content == b""
    assert_error(client.get("/users/me", headers=setup["bob_headers"]), 401, "INVALID_TOKEN")
    assert_error(client.get(f"/users/{bob_id}", headers=setup["admin"]), 404, "USER_NOT_FOUND")
    assert_error(client.delete(f"/users/{bob_id}", headers=setup["admin"]), 404, "USER_NOT_FOUND")
    again = register(client, "bob")
    assert again["id"] > bob_id


def test_delete_missing_user(client: TestClient, setup: dict[str, Any]) -> None:
    assert_error(client.delete("/users/999999", headers=setup["admin"]), 404, "USER_NOT_FOUND")


def test_delete_last_active_admin(client: TestClient, setup: dict[str, Any]) -> None:
    response = client.delete(f"/users/{setup['root']['id']}", headers=setup["admin"])
    assert_error(response, 409, "LAST_ADMIN")
    assert me_status(client, setup["admin"]) == 200


def test_delete_another_admin(app: FastAPI, client: TestClient, setup: dict[str, Any]) -> None:
    second = create_admin(app, "second")
    second_headers = bearer(login(client, "second"))
    response = client.delete(f"/users/{setup['root']['id']}", headers=second_headers)
    assert response.status_code == 204
    assert_error(client.get("/users/me", headers=setup["admin"]), 401, "INVALID_TOKEN")
    response = client.delete(f"/users/{second['id']}", headers=second_headers)
    assert_error(response, 409, "LAST_ADMIN")


def test_delete_forbidden_for_users(client: TestClient, setup: dict[str, Any]) -> None:
    for target in (setup["root"], setup["bob"]):
        response = client.delete(f"/users/{target['id']}", headers=setup["bob_headers"])
        assert_error(response, 403, "FORBIDDEN")
    assert me_status(client, setup["bob_headers"]) == 200
    assert me_status(client, setup["admin"]) == 200
