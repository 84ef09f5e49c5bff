"""Concurrent registrations of one username or email: one wins, the rest get the domain error.

Real threads, each with its own unit of work and session, released together by a barrier.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.engine import make_url

from A_DatabasePackage.database import Database
from A_DatabasePackage.migrations_runner import upgrade_to_head
from B_EntityPackage.login_entity_master import User
from C_SchemaPackage.request import RegisterRequest
from C_SchemaPackage.response import UserOut
from D_CustomExceptionPackage.errors import EmailTakenError, UsernameTakenError
from E_SecurityPackage.login_auth_jwt import TokenService
from E_SecurityPackage.password_hashing import PasswordHasher
from E_SecurityPackage.password_policy import PasswordPolicy
from H_ServiceImplementationPackage.login_service_implementation import AuthService
from H_ServiceImplementationPackage.session_service_implementation import SessionService
from tests.support import STRONG_PASSWORD, TEST_SECRET_KEY, FakeClock, sql_unit_of_work

THREADS = 8


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest) -> Iterator[Database]:
    url: str = request.getfixturevalue(
        "sqlite_url" if request.param == "sqlite" else "postgres_url"
    )
    database = Database(make_url(url))
    upgrade_to_head(database)
    with database.engine.begin() as connection:
        connection.execute(delete(User))
    yield database
    with database.engine.begin() as connection:
        connection.execute(delete(User))
    database.dispose()


def auth_service(database: Database) -> AuthService:
    clock = FakeClock()
    tokens = TokenService(
        TEST_SECRET_KEY, "HS256", "auth-service", "auth-service", timedelta(minutes=15), clock
    )
    uow = sql_unit_of_work(database, clock)
    sessions = SessionService(uow, tokens, clock, timedelta(days=7))
    return AuthService(
        uow,
        PasswordHasher(1024, 1, 1),
        PasswordPolicy(12),
        sessions,
        clock,
    )


def race(database: Database, requests: list[RegisterRequest]) -> list[UserOut | BaseException]:
    barrier = threading.Barrier(len(requests))
    outcomes: list[UserOut | BaseException | None] = [None] * len(requests)

    def attempt(index: int) -> None:
        service = auth_service(database)
        barrier.wait()
        try:
            outcomes[index] = service.register(requests[index])
        except BaseException as error:
            outcomes[index] = error

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    finished = [outcome for outcome in outcomes if outcome is not None]
    assert len(finished) == len(requests)
    return finished


def user_count(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(User)) or 0)


def test_same_username_registered_at_once(empty_database: Database) -> None:
    requests = [
        RegisterRequest(username="Racer", email=f"racer{i}@example.com", password=STRONG_PASSWORD)
        for i in range(THREADS)
    ]
    outcomes = race(empty_database, requests)
    winners = [outcome for outcome in outcomes if isinstance(outcome, UserOut)]
    losers = [outcome for outcome in outcomes if not isinstance(outcome, UserOut)]
    assert len(winners) == 1
    assert winners[0].username == "Racer"
    assert len(losers) == THREADS - 1
    assert all(type(error) is UsernameTakenError for error in losers), losers
    assert user_count(empty_database) == 1


def test_same_email_registered_at_once(empty_database: Database) -> None:
    requests = [
        RegisterRequest(
            username=f"racer{i}",
            email="Same@Example.com" if i % 2 else "same@example.com",
            password=STRONG_PASSWORD,
        )
        for i in range(THREADS)
    ]
    outcomes = race(empty_database, requests)
    winners = [outcome for outcome in outcomes if isinstance(outcome, UserOut)]
    losers = [outcome for outcome in outcomes if not isinstance(outcome, UserOut)]
    assert len(winners) == 1
    assert winners[0].email.lower() == "same@example.com"
    assert len(losers) == THREADS - 1
    assert all(type(error) is EmailTakenError for error in losers), losers
    assert user_count(empty_database) == 1
