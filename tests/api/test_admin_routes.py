"""GET /users and GET /users/{id}: listing and reading accounts."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.admin_support import admin_headers, assert_error, create_admin
from tests.support import bearer, login, register

HUGE_IDS = [2**63 - 1, 2**63, 2**64, 10**30, -(2**63), -(2**64)]


@pytest.fixture
def people(app: FastAPI, client: TestClient) -> dict[str, Any]:
    """An admin (first id) and three users, with their headers."""
    root = create_admin(app, "root")
    users = [register(client, name) for name in ("carol", "alice", "bob")]
    return {
        "root": root,
        "users": users,
        "admin": bearer(login(client, "root")),
        "alice": bearer(login(client, "alice")),
    }


def test_list_users_ordered_by_id(client: TestClient, people: dict[str, Any]) -> None:
    response = client.get("/users", headers=people["admin"])
    assert response.status_code == 200, response.text
    page = response.json()
    assert page == {
        "items": [people["root"], *people["users"]],
        "total": 4,
        "offset": 0,
        "limit": 50,
    }
    ids = [item["id"] for item in page["items"]]
    assert ids == sorted(ids)


@pytest.mark.parametrize(
    ("offset", "limit", "expected"),
    [(0, 1, [0]), (1, 2, [1, 2]), (3, 100, [3]), (2, 1, [2]), (4, 10, []), (100, 5, [])],
)
def test_list_users_pages(
    client: TestClient, people: dict[str, Any], offset: int, limit: int, expected: list[int]
) -> None:
    everyone = [people["root"], *people["users"]]
    response = client.get(
        "/users", params={"offset": offset, "limit": limit}, headers=people["admin"]
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "items": [everyone[index] for index in expected],
        "total": 4,
        "offset": offset,
        "limit": limit,
    }


def test_list_users_huge_but_valid_offset(client: TestClient, people: dict[str, Any]) -> None:
    response = client.get("/users", params={"offset": 2**63 - 1}, headers=people["admin"])
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []
    assert response.json()["total"] == 4


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": -1},
        {"offset": -1},
        {"offset": 2**63},
        {"offset": 2**64},
        {"offset": 10**40},
        {"limit": "ten"},
        {"offset": "1.5"},
        {"offset": "\u0000"},
    ],
)
def test_list_users_bounds(
    client: TestClient, people: dict[str, Any], params: dict[str, Any]
) -> None:
    response = client.get("/users", params=params, headers=people["admin"])
    assert_error(response, 422, "VALIDATION_ERROR")


def test_list_users_needs_a_token(client: TestClient, people: dict[str, Any]) -> None:
    assert_error(client.get("/users"), 401, "NOT_AUTHENTICATED")


def test_list_users_forbidden_for_a_user(client: TestClient, people: dict[str, Any]) -> None:
    assert_error(client.get("/users", headers=people["alice"]), 403, "FORBIDDEN")


def test_read_self(client: TestClient, people: dict[str, Any]) -> None:
    alice = people["users"][1]
    response = client.get(f"/users/{alice['id']}", headers=people["alice"])
    assert response.status_code == 200
    assert response.json() == alice
    assert client.get("/users/me", headers=people["alice"]).json() == alice


def test_user_cannot_read_others(client: TestClient, people: dict[str, Any]) -> None:
    for other in (people["root"], people["users"][0], people["users"][2]):
        response = client.get(f"/users/{other['id']}", headers=people["alice"])
        assert_error(response, 403, "FORBIDDEN")
        assert other["email"] not in response.text


@pytest.mark.parametrize("user_id", [0, -1, 999_999, *HUGE_IDS])
def test_user_cannot_probe_missing_ids(
    client: TestClient, people: dict[str, Any], user_id: int
) -> None:
    response = client.get(f"/users/{user_id}", headers=people["alice"])
    assert response.status_code in (403, 422), response.text
    assert response.json()["code"] in ("FORBIDDEN", "VALIDATION_ERROR")


def test_admin_reads_anyone(client: TestClient, people: dict[str, Any]) -> None:
    for user in (people["root"], *people["users"]):
        response = client.get(f"/users/{user['id']}", headers=people["admin"])
        assert response.status_code == 200
        assert response.json() == user


@pytest.mark.parametrize("user_id", [0, -1, 999_999])
def test_admin_reads_missing_user(client: TestClient, people: dict[str, Any], user_id: int) -> None:
    assert_error(client.get(f"/users/{user_id}", headers=people["admin"]), 404, "USER_NOT_FOUND")


@pytest.mark.parametrize("user_id", HUGE_IDS)
@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_ids_past_the_column_are_never_a_5xx(
    client: TestClient, people: dict[str, Any], user_id: int, method: str
) -> None:
    body = {"full_name": "x"} if method == "PATCH" else None
    response = client.request(method, f"/users/{user_id}", json=body, headers=people["admin"])
    assert response.status_code in (404, 422), response.text
    expected = "USER_NOT_FOUND" if response.status_code == 404 else "VALIDATION_ERROR"
    assert response.json()["code"] == expected


@pytest.mark.parametrize("user_id", ["abc", "1e3", "%00", "one"])
def test_non_integer_ids(client: TestClient, people: dict[str, Any], user_id: str) -> None:
    response = client.get(f"/users/{user_id}", headers=people["admin"])
    assert_error(response, 422, "VALIDATION_ERROR")


def test_deleted_user_is_not_found(app: FastAPI, client: TestClient) -> None:
    headers = admin_headers(app, client)
    bob = register(client, "bob")
    assert client.delete(f"/users/{bob['id']}", headers=headers).status_code == 204
    assert_error(client.get(f"/users/{bob['id']}", headers=headers), 404, "USER_NOT_FOUND")
    page = client.get("/users", headers=headers).json()
    assert [item["username"] for item in page["items"]] == ["root"]
    assert page["total"] == 1
