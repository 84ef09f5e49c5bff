"""Reading the audit trail: GET /audit for admins only, its filters and pages, and 422 for a
query it cannot answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.admin_support import admin_headers, assert_error
from tests.audit_support import WRONG, read, rows, sign_in
from tests.support import STRONG_PASSWORD, FakeClock, bearer, register


@pytest.fixture
def admin(app: FastAPI, client: TestClient) -> dict[str, str]:
    return admin_headers(app, client)


def test_only_admins_read_the_trail(client: TestClient, admin: dict[str, str]) -> None:
    assert_error(client.get("/audit"), 401, "NOT_AUTHENTICATED")
    assert_error(client.get("/audit", headers=bearer("nonsense")), 401, "INVALID_TOKEN")
    register(client, "alice")
    token = sign_in(client, "alice", STRONG_PASSWORD).json()["access_token"]
    assert_error(client.get("/audit", headers=bearer(token)), 403, "FORBIDDEN")
    assert client.get("/audit", headers=admin).status_code == 200


def test_filters_and_pages(client: TestClient, admin: dict[str, str], clock: FakeClock) -> None:
    start = clock.now()
    alice = register(client, "alice")["id"]
    clock.advance(minutes=6)  # the admin's token lives 15
    middle = clock.now()
    bob = register(client, "bob")["id"]
    sign_in(client, "bob", WRONG)
    clock.advance(minutes=6)
    sign_in(client, "alice", STRONG_PASSWORD)

    everything = read(client, admin)
    ids = [item["id"] for item in everything["items"]]
    assert ids == sorted(ids)
    # root's register and login, then each registration with its verification mail, and 2
    assert everything["total"] == len(ids) == 8
    assert (everything["offset"], everything["limit"]) == (0, 50)

    page = read(client, admin, offset=2, limit=2)
    assert [item["id"] for item in page["items"]] == ids[2:4]
    assert (page["total"], page["offset"], page["limit"]) == (8, 2, 2)
    assert read(client, admin, offset=10)["items"] == []

    assert [r[0] for r in rows(client, admin, user_id=bob)] == [
        "register",
        "email_verify_request",
        "login",
    ]
    assert rows(client, admin, event_type="register", user_id=alice) == [
        ("register", "success", alice, None, None)
    ]
    since = rows(client, admin, since=middle.isoformat())
    assert [(r[0], r[2]) for r in since] == [
        ("register", bob),
        ("email_verify_request", bob),
        ("login", bob),
        ("login", alice),
    ]
    until = rows(client, admin, until=middle.isoformat())
    assert [r[0] for r in until] == ["register", "login", "register", "email_verify_request"]
    window = rows(
        client,
        admin,
        since=middle.isoformat(),
        until=(middle + timedelta(minutes=3)).isoformat(),
    )
    assert [(r[0], r[2]) for r in window] == [
        ("register", bob),
        ("email_verify_request", bob),
        ("login", bob),
    ]
    naive = middle.astimezone(UTC).replace(tzinfo=None).isoformat()
    assert rows(client, admin, since=naive) == since
    other_zone = middle.astimezone(datetime.now().astimezone().tzinfo).isoformat()
    assert rows(client, admin, since=other_zone) == since
    assert read(client, admin, since=(start - timedelta(days=1)).isoformat())["total"] == 8
    assert read(client, admin, since=middle.isoformat(), until=start.isoformat())["total"] == 0
    assert read(client, admin, user_id=2**63 - 1)["total"] == 0


@pytest.mark.parametrize(
    "query",
    [
        {"event_type": "nonsense"},
        {"since": "yesterday"},
        {"until": "2026-13-01T00:00:00Z"},
        {"until": "9999-12-31T23:59:59-23:59"},
        {"since": "0001-01-01T00:00:00+23:59"},
        {"user_id": str(2**63)},
        {"user_id": "x"},
        {"offset": "-1"},
        {"offset": str(2**63)},
        {"limit": "0"},
        {"limit": "101"},
        {"event_type": "login\x00"},
    ],
)
def test_bad_queries_are_422(
    client: TestClient, admin: dict[str, str], query: dict[str, str]
) -> None:
    assert_error(client.get("/audit", headers=admin, params=query), 422, "VALIDATION_ERROR")
