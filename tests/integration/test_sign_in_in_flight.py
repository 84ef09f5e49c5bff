"""A sign-in that read the account before a change that ends its tokens (here: logout
everywhere, which bumps the account's token version as a password change, disable, role
change or deletion does) and opens its session after that change committed gets no session
and no token; one that opened its session first has it ended by the change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from A_DatabasePackage.database import Database
from B_EntityPackage.domain import ClientInfo
from B_EntityPackage.session_entities import AuthSession
from C_SchemaPackage.response import UserOut
from D_CustomExceptionPackage.errors import InvalidCredentialsError, InvalidRefreshTokenError
from E_SecurityPackage.login_auth_jwt import TokenService
from H_ServiceImplementationPackage.session_service_implementation import SessionService
from tests.repository_support import make_user, seed
from tests.support import TEST_SECRET_KEY, FakeClock, sql_unit_of_work

pytestmark = pytest.mark.backends("sqlite", "postgresql")

CLIENT = ClientInfo(ip="203.0.113.9", user_agent="in-flight/1.0")


def sessions_service(database: Database, clock: FakeClock) -> SessionService:
    tokens = TokenService(
        TEST_SECRET_KEY, "HS256", "auth-service", "auth-service", timedelta(minutes=15), clock
    )
    return SessionService(sql_unit_of_work(database, clock), tokens, clock, timedelta(days=7))


def read_for_sign_in(database: Database, name: str) -> tuple[UserOut, int]:
    """What a sign-in reads before it verifies the password."""
    with sql_unit_of_work(database) as uow:
        found = uow.users.credentials_for_sign_in(name)
    assert found is not None
    return UserOut.model_validate(found.account), found.account.token_version


def session_count(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(AuthSession)) or 0)


def test_a_session_opened_after_the_change_is_refused(database: Database, clock: FakeClock) -> None:
    seed(database, make_user("alice"))
    sessions = sessions_service(database, clock)
    user, version_read = read_for_sign_in(database, "alice")
    sessions.logout_all(user.id)  # commits while the sign-in is hashing
    with pytest.raises(InvalidCredentialsError):
        sessions.start(user, version_read, CLIENT)
    assert session_count(database) == 0
    _, version_now = read_for_sign_in(database, "alice")
    assert sessions.start(user, version_now, CLIENT).access_token


def test_a_session_opened_before_the_change_is_ended_by_it(
    database: Database, clock: FakeClock
) -> None:
    seed(database, make_user("alice"))
    sessions = sessions_service(database, clock)
    user, version_read = read_for_sign_in(database, "alice")
    pair = sessions.start(user, version_read, CLIENT)
    sessions.logout_all(user.id)
    assert pair.refresh_token is not None
    with pytest.raises(InvalidRefreshTokenError):
        sessions.refresh(pair.refresh_token, CLIENT)


def test_a_session_of_an_account_deleted_meanwhile_is_refused(
    database: Database, clock: FakeClock
) -> None:
    seed(database, make_user("alice"))
    sessions = sessions_service(database, clock)
    user, version_read = read_for_sign_in(database, "alice")
    with sql_unit_of_work(database) as uow:
        stored = uow.users.get(user.id)
        assert stored is not None
        uow.users.delete(stored)
        uow.commit()
    with pytest.raises(InvalidCredentialsError):
        sessions.start(user, version_read, CLIENT)
    assert session_count(database) == 0
