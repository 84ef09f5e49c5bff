"""Sessions end: an absolute lifetime no refresh extends, at most MAX_SESSIONS_PER_USER live
ones per account (the oldest ending first, its tokens with it), and expired refresh tokens,
spent ones included, pruned. On each database, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from A_DatabasePackage.database import Database
from B_EntityPackage.domain import ClientInfo
from B_EntityPackage.session_entities import RefreshToken
from C_SchemaPackage.response import UserOut
from D_CustomExceptionPackage.errors import InvalidRefreshTokenError, InvalidTokenError
from E_SecurityPackage.login_auth_jwt import TokenService
from H_ServiceImplementationPackage.access_check_service_implementation import AccessCheckService
from H_ServiceImplementationPackage.session_service_implementation import (
    DEFAULT_MAX_LIFETIME,
    DEFAULT_MAX_SESSIONS,
    SessionService,
)
from tests.repository_support import make_user, seed
from tests.support import TEST_SECRET_KEY, FixedClock, sql_unit_of_work

pytestmark = pytest.mark.backends("sqlite", "postgresql")

START = datetime(2031, 3, 1, 12, tzinfo=UTC)
CLIENT = ClientInfo(ip="198.51.100.4", user_agent="sessions-end/1.0")


def services(
    database: Database,
    clock: FixedClock,
    max_lifetime: timedelta = DEFAULT_MAX_LIFETIME,
    max_sessions: int = DEFAULT_MAX_SESSIONS,
) -> tuple[SessionService, AccessCheckService]:
    tokens = TokenService(
        TEST_SECRET_KEY, "HS256", "auth-service", "auth-service", timedelta(minutes=15), clock
    )
    sessions = SessionService(
        sql_unit_of_work(database, clock),
        tokens,
        clock,
        timedelta(days=2),
        max_lifetime=max_lifetime,
        max_sessions=max_sessions,
    )
    return sessions, AccessCheckService(sql_unit_of_work(database, clock), tokens, clock)


def alice(database: Database) -> UserOut:
    [user_id] = seed(database, make_user("alice"))
    with sql_unit_of_work(database) as uow:
        account = uow.users.account_view(user_id)
    return UserOut.model_validate(account)


def test_no_refresh_extends_a_session_past_its_maximum_lifetime(database: Database) -> None:
    clock = FixedClock(START)
    sessions, _ = services(database, clock, max_lifetime=timedelta(days=3))
    pair = sessions.start(alice(database), 0, CLIENT)
    assert pair.refresh_expires_in == 2 * 24 * 3600
    clock.moment = START + timedelta(days=1, hours=12)
    pair = sessions.refresh(str(pair.refresh_token), CLIENT)
    assert pair.refresh_expires_in == 36 * 3600  # up to START + 3 days, not now + 2 days
    clock.moment = START + timedelta(days=2, hours=23)
    pair = sessions.refresh(str(pair.refresh_token), CLIENT)
    assert pair.refresh_expires_in == 3600
    clock.moment = START + timedelta(days=3, minutes=1)
    with pytest.raises(InvalidRefreshTokenError):
        sessions.refresh(str(pair.refresh_token), CLIENT)


def test_an_account_keeps_at_most_its_cap_of_live_sessions_the_oldest_ending(
    database: Database,
) -> None:
    clock = FixedClock(START)
    sessions, access = services(database, clock, max_sessions=3)
    user = alice(database)
    pairs = []
    for minute in range(5):
        clock.moment = START + timedelta(minutes=minute)
        pairs.append(sessions.start(user, 0, CLIENT))
    for ended in pairs[:2]:
        with pytest.raises(InvalidTokenError):
            access.authenticate_access_token(ended.access_token)
        with pytest.raises(InvalidRefreshTokenError):
            sessions.refresh(str(ended.refresh_token), CLIENT)
    for live in pairs[2:]:
        assert access.authenticate_access_token(live.access_token).user.id == user.id
    with sql_unit_of_work(database) as uow:
        assert len(uow.sessions.live_ids_of_user(user.id, clock.now())) == 3


def test_expired_refresh_tokens_spent_ones_included_are_pruned(database: Database) -> None:
    clock = FixedClock(START)
    sessions, _ = services(database, clock, max_lifetime=timedelta(days=30))
    user = alice(database)
    first = sessions.start(user, 0, CLIENT)
    clock.moment = START + timedelta(days=1)
    second = sessions.refresh(str(first.refresh_token), CLIENT)  # first's token is now spent
    assert token_count(database) == 2
    clock.moment = START + timedelta(days=2, seconds=1)  # first's has expired, not the session
    with sql_unit_of_work(database, clock) as uow:
        assert uow.sessions.prune_expired(clock.now())
        uow.commit()
    assert token_count(database) == 1
    assert sessions.refresh(str(second.refresh_token), CLIENT).access_token


def token_count(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(RefreshToken)) or 0)
