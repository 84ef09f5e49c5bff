"""The access-token check (AccessCheckService) on each database, through a real unit of work:
the account's public fields, an ended token refused until it would have expired anyway, Redis
asked instead of the database when it is the store, and the connection given back."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from sqlalchemy import insert

from A_DatabasePackage.database import Database
from B_EntityPackage.domain import Role
from B_EntityPackage.session_entities import AuthSession, RevokedAccessToken
from D_CustomExceptionPackage.errors import InvalidTokenError
from E_SecurityPackage.login_auth_jwt import IssuedToken, TokenService
from F_RepositoryPackage.token_denylist import DeniedToken, RedisTokenDenylist
from F_RepositoryPackage.unit_of_work import SqlAlchemyUnitOfWork
from H_ServiceImplementationPackage.access_check_service_implementation import AccessCheckService
from tests.repository_support import NOW, make_user, seed
from tests.support import TEST_SECRET_KEY, FakeClock, checked_out, sql_unit_of_work

pytestmark = pytest.mark.backends("sqlite", "postgresql")


@pytest.fixture
def clock() -> FakeClock:
    """The seeded rows' time (NOW) as the check's now."""
    clock = FakeClock()
    clock.offset = NOW - clock.now()
    return clock


@pytest.fixture
def tokens(clock: FakeClock) -> TokenService:
    return TokenService(
        TEST_SECRET_KEY, "HS256", "auth-service", "auth-service", timedelta(minutes=15), clock
    )


def issue(
    database: Database, tokens: TokenService, user_id: int, role: str = "user"
) -> IssuedToken:
    """A token of a live session of the account (the check requires one)."""
    with database.session() as session:
        now = tokens.clock.now()
        auth_session = AuthSession(
            user_id=user_id, created_at=now, last_used_at=now, expires_at=now + timedelta(days=1)
        )
        session.add(auth_session)
        session.commit()
        session_id = auth_session.id
    return tokens.issue_access_token(user_id, role, 0, session_id=session_id)


def deny_in_database(database: Database, jti: str, minutes: int, clock: FakeClock) -> None:
    with database.session() as session:
        expires_at = clock.now() + timedelta(minutes=minutes)
        session.execute(insert(RevokedAccessToken).values(jti=jti, expires_at=expires_at))
        session.commit()


def test_the_account_behind_a_token_with_its_public_fields(
    database: Database, clock: FakeClock, tokens: TokenService
) -> None:
    [user_id] = seed(database, make_user("Viewed", "Viewed@Example.com", Role.ADMIN))
    check = AccessCheckService(sql_unit_of_work(database, clock), tokens, clock)
    access = check.authenticate_access_token(issue(database, tokens, user_id, "admin").token)
    user = access.user
    assert (user.id, user.username, user.email, user.role) == (
        user_id,
        "Viewed",
        "Viewed@Example.com",
        "admin",
    )
    assert (user.is_active, user.full_name, user.created_at) == (True, None, NOW)
    assert "hashed_password" not in user.model_dump()
    assert access.claims.user_id == user_id


def test_an_unknown_account_is_refused(
    database: Database, clock: FakeClock, tokens: TokenService
) -> None:
    seed(database, make_user("someone"))
    check = AccessCheckService(sql_unit_of_work(database, clock), tokens, clock)
    with pytest.raises(InvalidTokenError):
        check.authenticate_access_token(tokens.issue_access_token(10_000, "user", 0, 1).token)


def test_a_token_in_the_database_store_is_refused_until_its_entry_expires(
    database: Database, clock: FakeClock, tokens: TokenService
) -> None:
    [user_id] = seed(database, make_user("denied"))
    ended, other = issue(database, tokens, user_id), issue(database, tokens, user_id)
    deny_in_database(database, ended.jti, 5, clock)
    check = AccessCheckService(sql_unit_of_work(database, clock), tokens, clock)
    with pytest.raises(InvalidTokenError):
        check.authenticate_access_token(ended.token)
    assert check.authenticate_access_token(other.token).user.id == user_id
    clock.advance(minutes=6)  # the entry is kept only as long as it was asked to be
    assert check.authenticate_access_token(ended.token).user.id == user_id


def test_with_redis_as_the_store_only_redis_is_asked(
    database: Database, clock: FakeClock, tokens: TokenService, redis_url: str
) -> None:
    [user_id] = seed(database, make_user("redis-checked"))
    client = redis.Redis.from_url(redis_url)
    store = RedisTokenDenylist(client, clock)
    in_redis, in_database_only = issue(database, tokens, user_id), issue(database, tokens, user_id)
    store.deny([DeniedToken(in_redis.jti, clock.now() + timedelta(minutes=5))])
    deny_in_database(database, in_database_only.jti, 5, clock)
    check = AccessCheckService(
        SqlAlchemyUnitOfWork(database.session_factory, lambda _session: store), tokens, clock
    )
    try:
        with pytest.raises(InvalidTokenError):
            check.authenticate_access_token(in_redis.token)
        assert check.authenticate_access_token(in_database_only.token).user.id == user_id
    finally:
        client.delete("auth:denied-jti:" + in_redis.jti)
        client.close()


def test_each_check_gives_its_connection_back(
    database: Database, clock: FakeClock, tokens: TokenService
) -> None:
    [user_id] = seed(database, make_user("pooled"))
    check = AccessCheckService(sql_unit_of_work(database, clock), tokens, clock)
    for _ in range(3):
        check.authenticate_access_token(issue(database, tokens, user_id).token)
        assert checked_out(database) == 0
