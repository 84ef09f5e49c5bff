"""The audit trail through HTTP: a row for every security event, with time, account, actor,
client address, user agent and outcome and never a secret (reading it: test_audit_reading.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from A_DatabasePackage.settings import Settings
from I_ControllerPackage.app_factory import create_app
from tests.admin_support import admin_headers, create_admin
from tests.audit_support import WRONG, read, rows, sign_in
from tests.support import OTHER_STRONG_PASSWORD, STRONG_PASSWORD, FakeClock, bearer, register

AGENT = "audit-test-agent/2.0"
ADDRESS = "198.51.100.23"


@pytest.fixture
def app(settings: Settings, clock: FakeClock) -> FastAPI:
    """Behind a trusted proxy, so the recorded address is the forwarded one."""
    return create_app(settings.model_copy(update={"TRUSTED_PROXIES": "127.0.0.1"}), clock)


@pytest.fixture
def client(app: FastAPI) -> Any:
    with TestClient(
        app,
        client=("127.0.0.1", 40000),
        headers={"User-Agent": AGENT, "X-Forwarded-For": ADDRESS},
    ) as test_client:
        yield test_client


@pytest.fixture
def admin(app: FastAPI, client: TestClient) -> dict[str, str]:
    return admin_headers(app, client)


def test_sign_up_and_sign_in_events(client: TestClient, admin: dict[str, str]) -> None:
    alice = register(client, "alice")["id"]
    assert sign_in(client, "alice", WRONG).status_code == 401
    assert sign_in(client, "alice@example.com", STRONG_PASSWORD).status_code == 200
    assert sign_in(client, "alice", WRONG, "/users/code").status_code == 401
    assert sign_in(client, "alice", STRONG_PASSWORD, "/users/code").status_code == 200
    assert rows(client, admin, user_id=alice) == [
        ("register", "success", alice, None, None),
        ("email_verify_request", "success", alice, None, None),
        ("login", "failure", alice, None, "INVALID_CREDENTIALS"),
        ("login", "success", alice, None, None),
        ("credentials_check", "failure", alice, None, "INVALID_CREDENTIALS"),
        ("credentials_check", "success", alice, None, None),
    ]
    for item in read(client, admin, user_id=alice)["items"]:
        assert item["ip"] == ADDRESS
        assert item["user_agent"] == AGENT
        assert set(item) == {
            "id",
            "occurred_at",
            "event_type",
            "outcome",
            "user_id",
            "actor_id",
            "ip",
            "user_agent",
            "detail",
        }


def test_an_unknown_account_is_recorded_without_its_name(
    client: TestClient, admin: dict[str, str]
) -> None:
    typed = "MySecretPassphrase123"  # typed into the username box
    assert sign_in(client, typed, WRONG).status_code == 401
    assert rows(client, admin, event_type="login")[1:] == [
        ("login", "failure", None, None, "INVALID_CREDENTIALS")
    ]
    assert typed.lower() not in json.dumps(read(client, admin)).lower()


def test_a_disabled_account_is_recorded_after_the_right_password(
    client: TestClient, admin: dict[str, str]
) -> None:
    alice = register(client, "alice")["id"]
    client.patch(f"/users/{alice}", headers=admin, json={"is_active": False})
    assert sign_in(client, "alice", STRONG_PASSWORD).status_code == 403
    client.patch(f"/users/{alice}", headers=admin, json={"is_active": True})
    root = client.get("/users/me", headers=admin).json()["id"]
    assert rows(client, admin, user_id=alice) == [
        ("register", "success", alice, None, None),
        ("email_verify_request", "success", alice, None, None),
        ("account_disable", "success", alice, root, None),
        ("login", "failure", alice, None, "ACCOUNT_DISABLED"),
        ("account_enable", "success", alice, root, None),
    ]


def test_lockout_is_recorded_once_when_a_window_fills(
    client: TestClient, admin: dict[str, str]
) -> None:
    alice = register(client, "alice")["id"]
    for _ in range(5):
        sign_in(client, "alice", WRONG)
    for _ in range(3):
        assert sign_in(client, "alice", STRONG_PASSWORD).status_code == 429
    assert rows(client, admin, user_id=alice)[-3:] == [
        ("login", "failure", alice, None, "INVALID_CREDENTIALS"),
        ("lockout", "failure", alice, None, "LOGIN_MAX_FAILURES"),
        ("lockout_notice", "success", alice, None, None),  # the owner is mailed
    ]
    assert len(rows(client, admin, user_id=alice, event_type="login")) == 5
    assert len(rows(client, admin, event_type="lockout")) == 1


def test_session_events(client: TestClient, admin: dict[str, str]) -> None:
    alice = register(client, "alice")["id"]
    first = sign_in(client, "alice", STRONG_PASSWORD).json()
    second = sign_in(client, "alice", STRONG_PASSWORD).json()
    rotated = client.post("/token/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200
    reused = client.post("/token/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.json()["code"] == "REFRESH_TOKEN_REUSED"
    third = sign_in(client, "alice", STRONG_PASSWORD).json()
    sessions = client.get("/sessions", headers=bearer(third["access_token"])).json()
    other = next(s["id"] for s in sessions if not s["current"])
    client.delete(f"/sessions/{other}", headers=bearer(third["access_token"]))
    assert client.post("/logout", headers=bearer(third["access_token"])).status_code == 204
    fourth = sign_in(client, "alice", STRONG_PASSWORD).json()
    assert client.post("/logout/all", headers=bearer(fourth["access_token"])).status_code == 204
    assert second["access_token"]
    assert rows(client, admin, user_id=alice) == [
        ("register", "success", alice, None, None),
        ("email_verify_request", "success", alice, None, None),
        ("login", "success", alice, None, None),
        ("login", "success", alice, None, None),
        ("refresh_reuse", "failure", alice, None, "REFRESH_TOKEN_REUSED"),
        ("login", "success", alice, None, None),
        ("session_end", "success", alice, None, None),
        ("logout", "success", alice, None, None),
        ("login", "success", alice, None, None),
        ("logout_all", "success", alice, None, None),
    ]


def test_own_account_changes(client: TestClient, admin: dict[str, str]) -> None:
    alice = register(client, "alice")["id"]
    token = sign_in(client, "alice", STRONG_PASSWORD).json()["access_token"]
    headers = bearer(token)
    refused = client.put(
        "/update", headers=headers, json={"email": "a2@example.com", "current_password": WRONG}
    )
    assert refused.status_code == 403
    refused = client.put(
        "/update",
        headers=headers,
        json={"new_password": OTHER_STRONG_PASSWORD, "current_password": WRONG},
    )
    assert refused.status_code == 403
    refused = client.put(
        "/update", headers=headers, json={"full_name": "A", "current_password": WRONG}
    )
    assert refused.status_code == 403
    changed = client.put(
        "/update",
        headers=headers,
        json={"username": "alice2", "email": "a2@example.com", "current_password": STRONG_PASSWORD},
    )
    assert changed.status_code == 200
    assert client.put("/update", headers=headers, json={"full_name": "Alice"}).status_code == 200
    changed = client.put(
        "/update",
        headers=headers,
        json={"new_password": OTHER_STRONG_PASSWORD, "current_password": STRONG_PASSWORD},
    )
    assert changed.status_code == 200
    token = sign_in(client, "alice2", OTHER_STRONG_PASSWORD).json()["access_token"]
    assert client.get("/users/me", headers=bearer(token)).json()["email"] == "alice@example.com"
    wrong = client.request("DELETE", "/delete", headers=bearer(token), json={"password": WRONG})
    assert wrong.status_code == 403
    gone = client.request(
        "DELETE", "/delete", headers=bearer(token), json={"password": OTHER_STRONG_PASSWORD}
    )
    assert gone.status_code == 204
    assert rows(client, admin, user_id=alice) == [
        ("register", "success", alice, None, None),
        ("email_verify_request", "success", alice, None, None),
        ("login", "success", alice, None, None),
        ("email_change", "failure", alice, None, "INVALID_CURRENT_PASSWORD"),
        ("password_change", "failure", alice, None, "INVALID_CURRENT_PASSWORD"),
        ("account_update", "failure", alice, None, "INVALID_CURRENT_PASSWORD"),
        ("email_change_request", "success", alice, None, None),  # applied once confirmed
        ("username_change", "success", alice, None, None),
        ("password_change", "success", alice, None, None),
        ("login", "success", alice, None, None),
        ("account_delete", "failure", alice, None, "INVALID_CURRENT_PASSWORD"),
        ("account_delete", "success", alice, None, None),
    ]


def test_admin_changes_name_the_admin(
    app: FastAPI, client: TestClient, admin: dict[str, str]
) -> None:
    root = client.get("/users/me", headers=admin).json()["id"]
    bob = register(client, "bob")["id"]
    assert client.patch(f"/users/{bob}", headers=admin, json={"role": "admin"}).status_code == 200
    assert client.patch(f"/users/{bob}", headers=admin, json={"role": "user"}).status_code == 200
    renamed = client.patch(
        f"/users/{bob}", headers=admin, json={"username": "robert", "email": "r@example.com"}
    )
    assert renamed.status_code == 200
    assert client.patch(f"/users/{bob}", headers=admin, json={"full_name": "R"}).status_code == 200
    assert client.delete(f"/users/{bob}", headers=admin).status_code == 204
    assert rows(client, admin, user_id=bob) == [
        ("register", "success", bob, None, None),
        ("email_verify_request", "success", bob, None, None),
        ("role_change", "success", bob, root, "ROLE_ADMIN"),
        ("role_change", "success", bob, root, "ROLE_USER"),
        ("email_change", "success", bob, root, None),
        ("username_change", "success", bob, root, None),
        ("account_delete", "success", bob, root, None),
    ]
    assert rows(client, admin, user_id=root)[0] == ("register", "success", root, None, "ROLE_ADMIN")
    create_admin(app, "second")
    assert rows(client, admin, event_type="register")[-1][4] == "ROLE_ADMIN"


def test_no_password_or_token_is_ever_written(client: TestClient, admin: dict[str, str]) -> None:
    register(client, "alice")
    pair = sign_in(client, "alice", STRONG_PASSWORD).json()
    sign_in(client, "alice", WRONG)
    client.post("/token/refresh", json={"refresh_token": pair["refresh_token"]})
    client.post("/token/refresh", json={"refresh_token": pair["refresh_token"]})
    client.put(
        "/update",
        headers=bearer(pair["access_token"]),
        json={"new_password": OTHER_STRONG_PASSWORD, "current_password": WRONG},
    )
    text = json.dumps(read(client, admin, limit=100))
    for secret in (
        STRONG_PASSWORD,
        WRONG,
        OTHER_STRONG_PASSWORD,
        pair["access_token"],
        pair["refresh_token"],
        "$argon2",
    ):
        assert secret not in text
