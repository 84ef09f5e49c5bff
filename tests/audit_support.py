"""Helpers of the audit trail tests: reading GET /audit as an admin, and signing in."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

WRONG = "not the password at all"
Row = tuple[str, str, int | None, int | None, str | None]


def read(client: TestClient, admin: dict[str, str], **query: Any) -> dict[str, Any]:
    response = client.get("/audit", headers=admin, params=query)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def rows(client: TestClient, admin: dict[str, str], **query: Any) -> list[Row]:
    """(event_type, outcome, user_id, actor_id, detail) of the matching events, by id."""
    items = read(client, admin, limit=100, **query)["items"]
    return [
        (i["event_type"], i["outcome"], i["user_id"], i["actor_id"], i["detail"]) for i in items
    ]


def sign_in(client: TestClient, username: str, password: str, path: str = "/login") -> Any:
    return client.post(path, json={"username": username, "password": password})
