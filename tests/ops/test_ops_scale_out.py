"""Two instances of the service on different ports share one database (and one Redis, when
configured), as two machines behind a load balancer would: a token issued by one works on the
other, a refresh token issued by one is rotated on the other (and its reuse is caught on the
first), and a logout, a "log out everywhere" or a password change on one holds on the other.

SQLite instances share one file on this machine; PostgreSQL runs with the ended-token list in
the database and, on `postgresql+redis`, in Redis.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_server import PROJECT_ROOT, LiveServer, live_server, settings_env
from tests.support import OTHER_STRONG_PASSWORD, STRONG_PASSWORD, bearer


@pytest.fixture
def instances(
    database_url: str, backend_redis_url: str | None, tmp_path: Path
) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    extra = {"REDIS_URL": backend_redis_url} if backend_redis_url else {}
    env = settings_env(database_url, **extra)
    with ExitStack() as stack:
        servers: list[LiveServer] = [
            stack.enter_context(live_server(env, PROJECT_ROOT, tmp_path / name))
            for name in ("a", "b")
        ]
        assert servers[0].port != servers[1].port
        first, second = (stack.enter_context(server.client()) for server in servers)
        yield first, second
        for server in servers:
            assert "Traceback" not in server.output()


def sign_in(client: httpx.Client, name: str, password: str = STRONG_PASSWORD) -> dict[str, Any]:
    response = client.post("/login", json={"username": name, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def me(client: httpx.Client, token: str) -> httpx.Response:
    return client.get("/users/me", headers=bearer(token))


def assert_ended(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "INVALID_TOKEN"


def register(client: httpx.Client, name: str) -> None:
    body = {"username": name, "email": f"{name}@example.com", "password": STRONG_PASSWORD}
    response = client.post("/register", json=body)
    assert response.status_code == 201, response.text


def tokens_and_refresh_tokens_work_across_instances(a: httpx.Client, b: httpx.Client) -> None:
    register(a, "alice")
    taken = b.post(
        "/register",
        json={"username": "ALICE", "email": "x@example.com", "password": STRONG_PASSWORD},
    )
    assert taken.json()["code"] == "USERNAME_TAKEN"
    from_a = sign_in(a, "alice")
    assert me(b, from_a["access_token"]).json()["username"] == "alice"

    rotated = b.post("/token/refresh", json={"refresh_token": from_a["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    from_b = rotated.json()
    assert me(a, from_b["access_token"]).status_code == 200

    # The spent token comes back on the other instance: reuse, and the session ends on both.
    reused = a.post("/token/refresh", json={"refresh_token": from_a["refresh_token"]})
    assert reused.json()["code"] == "REFRESH_TOKEN_REUSED"
    assert_ended(me(b, from_b["access_token"]))
    assert_ended(me(a, from_b["access_token"]))
    again = b.post("/token/refresh", json={"refresh_token": from_b["refresh_token"]})
    assert again.json()["code"] == "INVALID_REFRESH_TOKEN"


def a_logout_on_one_instance_holds_on_the_other(a: httpx.Client, b: httpx.Client) -> None:
    register(a, "bob")
    ending = sign_in(a, "bob")
    staying = sign_in(b, "bob")
    sessions = b.get("/sessions", headers=bearer(staying["access_token"])).json()
    assert len(sessions) == 2  # the one opened on A is listed on B

    response = a.post(
        "/logout",
        headers=bearer(ending["access_token"]),
        json={"refresh_token": ending["refresh_token"]},
    )
    assert response.status_code == 204
    assert_ended(me(b, ending["access_token"]))
    assert_ended(me(a, ending["access_token"]))
    refused = b.post("/token/refresh", json={"refresh_token": ending["refresh_token"]})
    assert refused.json()["code"] == "INVALID_REFRESH_TOKEN"
    assert me(a, staying["access_token"]).status_code == 200

    response = b.post("/logout/all", headers=bearer(staying["access_token"]))
    assert response.status_code == 204
    assert_ended(me(a, staying["access_token"]))


def a_password_change_on_one_instance_ends_tokens_on_the_other(
    a: httpx.Client, b: httpx.Client
) -> None:
    register(b, "carol")
    old = sign_in(b, "carol")
    changed = a.put(
        "/update",
        headers=bearer(sign_in(a, "carol")["access_token"]),
        json={"new_password": OTHER_STRONG_PASSWORD, "current_password": STRONG_PASSWORD},
    )
    assert changed.status_code == 200, changed.text
    assert_ended(me(b, old["access_token"]))
    refused = b.post("/login", json={"username": "carol", "password": STRONG_PASSWORD})
    assert refused.status_code == 401
    assert me(b, sign_in(b, "carol", OTHER_STRONG_PASSWORD)["access_token"]).status_code == 200


def test_two_instances_share_sessions_and_revocation(
    instances: tuple[httpx.Client, httpx.Client],
) -> None:
    """The three scenarios on one pair of instances (starting the servers is the slow part)."""
    a, b = instances
    tokens_and_refresh_tokens_work_across_instances(a, b)
    a_logout_on_one_instance_holds_on_the_other(a, b)
    a_password_change_on_one_instance_ends_tokens_on_the_other(a, b)
