"""Two admins removing their admin rights at the same moment, on PostgreSQL and on SQLite: the
last-admin rule must hold under concurrency (PostgreSQL locks the admin rows; on SQLite the
rule is checked again after the write, under the database's write lock), so exactly one
succeeds.

The test builds its own application on the session's database of each kind and sends the two
requests from two threads released together by a barrier, several rounds in a row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from B_EntityPackage.login_entity_master import Base, User
from I_ControllerPackage.app_factory import create_app
from tests.admin_support import create_admin
from tests.support import STRONG_PASSWORD, bearer, login, make_settings

Action = Callable[[TestClient, dict[str, str], int], Any]
ROUNDS = 4


def demote(client: TestClient, headers: dict[str, str], user_id: int) -> Any:
    return client.patch(f"/users/{user_id}", json={"role": "user"}, headers=headers)


def disable(client: TestClient, headers: dict[str, str], user_id: int) -> Any:
    return client.patch(f"/users/{user_id}", json={"is_active": False}, headers=headers)


def delete_by_admin_route(client: TestClient, headers: dict[str, str], user_id: int) -> Any:
    return client.delete(f"/users/{user_id}", headers=headers)


def delete_self(client: TestClient, headers: dict[str, str], _user_id: int) -> Any:
    return client.request("DELETE", "/delete", json={"password": STRONG_PASSWORD}, headers=headers)


@pytest.fixture(params=["sqlite_url", "postgres_url"], ids=["sqlite", "postgresql"])
def admin_app(request: pytest.FixtureRequest) -> Iterator[FastAPI]:
    url: str = request.getfixturevalue(request.param)
    app = create_app(make_settings(url))
    with TestClient(app):  # runs the migrations
        yield app
        empty_tables(app)


def empty_tables(app: FastAPI) -> None:
    with app.state.database.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


def active_admin_count(app: FastAPI) -> int:
    with app.state.database.session() as session:
        statement = (
            select(func.count())
            .select_from(User)
            .where(User.role == "admin", User.is_active.is_(True))
        )
        return int(session.scalar(statement) or 0)


def race(app: FastAPI, first: Action, second: Action) -> list[tuple[int, str | None]]:
    """Two fresh admins, each applying an action to themselves at the same moment."""
    empty_tables(app)
    clients = [TestClient(app), TestClient(app)]
    admins = [create_admin(app, "admin_a"), create_admin(app, "admin_b")]
    headers = [bearer(login(clients[0], "admin_a")), bearer(login(clients[1], "admin_b"))]
    barrier = threading.Barrier(2)

    def run(index: int, action: Action) -> tuple[int, str | None]:
        barrier.wait(timeout=10)
        response = action(clients[index], headers[index], admins[index]["id"])
        code = response.json().get("code") if response.content else None
        return response.status_code, code

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(run, 0, first), pool.submit(run, 1, second)]
            return [future.result(timeout=30) for future in futures]
    finally:
        for client in clients:
            client.close()


@pytest.mark.parametrize(
    ("first", "second", "success"),
    [
        (demote, demote, 200),
        (disable, disable, 200),
        (delete_by_admin_route, delete_by_admin_route, 204),
        (delete_self, delete_self, 204),
    ],
    ids=["demote", "disable", "admin-delete", "self-delete"],
)
def test_concurrent_removal_keeps_exactly_one_admin(
    admin_app: FastAPI, first: Action, second: Action, success: int
) -> None:
    for _ in range(ROUNDS):
        outcomes = race(admin_app, first, second)
        assert sorted(outcomes) == sorted([(success, None), (409, "LAST_ADMIN")]), outcomes
        assert active_admin_count(admin_app) == 1


def test_concurrent_mixed_actions_keep_exactly_one_admin(admin_app: FastAPI) -> None:
    pairs: list[tuple[Action, Action]] = [
        (demote, disable),
        (disable, delete_by_admin_route),
        (delete_self, demote),
    ]
    for first, second in pairs:
        outcomes = race(admin_app, first, second)
        assert sorted(code for _, code in outcomes if code is not None) == ["LAST_ADMIN"], outcomes
        assert sum(status in (200, 204) for status, _ in outcomes) == 1, outcomes
        assert active_admin_count(admin_app) == 1


def test_survivor_is_still_a_working_admin(admin_app: FastAPI) -> None:
    outcomes = race(admin_app, demote, demote)
    survivor = "admin_a" if outcomes[0][0] == 409 else "admin_b"
    client = TestClient(admin_app)
    headers = bearer(login(client, survivor))
    page = client.get("/users", headers=headers)
    assert page.status_code == 200
    roles = {item["username"]: item["role"] for item in page.json()["items"]}
    assert roles == {
        "admin_a": "user" if survivor == "admin_b" else "admin",
        "admin_b": "user" if survivor == "admin_a" else "admin",
    }
    client.close()
