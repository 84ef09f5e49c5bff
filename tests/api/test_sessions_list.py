"""GET /sessions lists the caller's active sessions; DELETE /sessions/{id} ends one of them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.admin_support import assert_error, me_status
from tests.session_support import (
    assert_access_ended,
    assert_refresh_invalid,
    assert_token_body,
    refresh,
    refreshed,
    session_id_of,
    sign_in,
)
from tests.support import FakeClock, bearer, register

SESSION_KEYS = {"id", "created_at", "last_used_at", "expires_at", "user_agent", "ip", "current"}


@pytest.fixture
def alice(client: TestClient) -> dict[str, Any]:
    return register(client)


def list_sessions(client: TestClient, access_token: str) -> list[dict[str, Any]]:
    response = client.get("/sessions", headers=bearer(access_token))
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    for item in body:
        assert set(item) == SESSION_KEYS, item
    return body


def at(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timedelta(0), value
    return parsed


def test_sessions_lists_each_sign_in_and_marks_the_current_one(
    client: TestClient, alice: dict[str, Any]
) -> None:
    register(client, "bob")
    sign_in(client, "bob", user_agent="bob's browser")
    phone = sign_in(client, user_agent="Phone/1.0 (Android 14)")
    laptop = sign_in(client, user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")

    seen_from_phone = list_sessions(client, phone["access_token"])
    assert [s["id"] for s in seen_from_phone] == [
        session_id_of(phone["access_token"]),
        session_id_of(laptop["access_token"]),
    ]
    assert [s["current"] for s in seen_from_phone] == [True, False]
    assert [s["user_agent"] for s in seen_from_phone] == [
        "Phone/1.0 (Android 14)",
        "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
    ]
    assert [s["ip"] for s in seen_from_phone] == ["testclient", "testclient"]
    for item in seen_from_phone:
        created = at(item["created_at"])
        assert at(item["last_used_at"]) == created
        assert at(item["expires_at"]) - created == timedelta(days=7)

    seen_from_laptop = list_sessions(client, laptop["access_token"])
    assert [s["current"] for s in seen_from_laptop] == [False, True]


def test_sessions_lists_only_active_sessions(
    client: TestClient, clock: FakeClock, alice: dict[str, Any]
) -> None:
    old = sign_in(client, user_agent="old")
    ended = sign_in(client, user_agent="ended")
    assert client.post("/logout", headers=bearer(ended["access_token"])).status_code == 204
    clock.advance(days=6)
    recent = sign_in(client, user_agent="recent")
    assert [s["user_agent"] for s in list_sessions(client, recent["access_token"])] == [
        "old",
        "recent",
    ]
    clock.advance(days=1, seconds=1)  # `old` has now expired; `recent` has not
    recent = refreshed(client, recent["refresh_token"])
    current = list_sessions(client, recent["access_token"])
    assert [(s["user_agent"], s["current"]) for s in current] == [("recent", True)]
    assert_refresh_invalid(client, old["refresh_token"])


def test_last_used_at_moves_on_refresh(
    client: TestClient, clock: FakeClock, alice: dict[str, Any]
) -> None:
    first = sign_in(client)
    (before,) = list_sessions(client, first["access_token"])
    clock.advance(minutes=10)
    second = refreshed(client, first["refresh_token"])
    (after,) = list_sessions(client, second["access_token"])
    assert after["id"] == before["id"]
    assert after["current"] is True
    assert after["created_at"] == before["created_at"]
    moved = at(after["last_used_at"]) - at(before["last_used_at"])
    assert timedelta(minutes=10) <= moved < timedelta(minutes=10, seconds=30)
    assert at(after["expires_at"]) > at(before["expires_at"])


def test_a_missing_user_agent_is_listed_as_null(client: TestClient, alice: dict[str, Any]) -> None:
    response = client.post(
        "/login",
        json={"username": "alice", "password": "correct horse battery staple"},
        headers={"User-Agent": ""},
    )
    assert response.status_code == 200, response.text
    (item,) = list_sessions(client, response.json()["access_token"])
    assert item["user_agent"] is None


def test_sessions_needs_a_valid_access_token(client: TestClient) -> None:
    assert_error(client.get("/sessions"), 401, "NOT_AUTHENTICATED")
    assert_error(client.get("/sessions", headers=bearer("nope")), 401, "INVALID_TOKEN")


def test_deleting_a_session_ends_its_tokens_only(client: TestClient, alice: dict[str, Any]) -> None:
    mine = sign_in(client, user_agent="mine")
    stolen = sign_in(client, user_agent="stolen")
    stolen_rotated = refreshed(client, stolen["refresh_token"])
    target = session_id_of(stolen["access_token"])

    response = client.delete(f"/sessions/{target}", headers=bearer(mine["access_token"]))
    assert response.status_code == 204, response.text
    assert response.content == b""

    assert_access_ended(client, stolen["access_token"])
    assert_access_ended(client, stolen_rotated["access_token"])
    assert_refresh_invalid(client, stolen_rotated["refresh_token"])
    assert [s["user_agent"] for s in list_sessions(client, mine["access_token"])] == ["mine"]
    assert_token_body(refresh(client, mine["refresh_token"]))
    # Ending it a second time: it is no longer one of the caller's active sessions.
    again = client.delete(f"/sessions/{target}", headers=bearer(mine["access_token"]))
    assert_error(again, 404, "SESSION_NOT_FOUND")


def test_deleting_the_current_session_signs_out(client: TestClient, alice: dict[str, Any]) -> None:
    mine = sign_in(client)
    session_id = session_id_of(mine["access_token"])
    response = client.delete(f"/sessions/{session_id}", headers=bearer(mine["access_token"]))
    assert response.status_code == 204, response.text
    assert_access_ended(client, mine["access_token"])
    assert_refresh_invalid(client, mine["refresh_token"])


def test_someone_elses_or_an_unknown_session_is_not_found(
    client: TestClient, alice: dict[str, Any]
) -> None:
    register(client, "bob")
    bob = sign_in(client, "bob")
    mine = sign_in(client)
    bobs_session = session_id_of(bob["access_token"])
    for session_id in (bobs_session, bobs_session + 1000, 0, -1, 2**63 - 1):
        response = client.delete(f"/sessions/{session_id}", headers=bearer(mine["access_token"]))
        assert_error(response, 404, "SESSION_NOT_FOUND")
        assert response.json()["detail"]
    assert me_status(client, bearer(bob["access_token"])) == 200
    assert_token_body(refresh(client, bob["refresh_token"]))


@pytest.mark.parametrize("session_id", [str(2**63), str(-(2**63) - 1), "abc", "1.5", "%00"])
def test_session_ids_out_of_range_or_not_numbers_are_422(
    client: TestClient, alice: dict[str, Any], session_id: str
) -> None:
    mine = sign_in(client)
    response = client.delete(f"/sessions/{session_id}", headers=bearer(mine["access_token"]))
    assert_error(response, 422, "VALIDATION_ERROR")
    assert me_status(client, bearer(mine["access_token"])) == 200


def test_deleting_a_session_needs_a_valid_access_token(
    client: TestClient, alice: dict[str, Any]
) -> None:
    mine = sign_in(client)
    session_id = session_id_of(mine["access_token"])
    assert_error(client.delete(f"/sessions/{session_id}"), 401, "NOT_AUTHENTICATED")
    response = client.delete(f"/sessions/{session_id}", headers=bearer("x"))
    assert_error(response, 401, "INVALID_TOKEN")
    assert me_status(client, bearer(mine["access_token"])) == 200
