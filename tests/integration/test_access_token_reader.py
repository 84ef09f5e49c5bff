"""The token check's read side (F_RepositoryPackage.access_token_reader) on each database, as
the application wires it (psycopg 3 on the event loop on PostgreSQL, SQLite's driver in a
worker thread): the account's public fields and token state, and the denylist read in the same
statement (or asked of Redis first when that is the store)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from contextvars import ContextVar
from datetime import datetime, timedelta

import pytest
import redis
from sqlalchemy import insert

from A_DatabasePackage.login_database_connection import Database
from B_EntityPackage.login_entity_master import Role
from B_EntityPackage.session_entities import RevokedAccessToken
from E_SecurityPackage.token_denylist import DeniedToken, RedisTokenDenylist, TokenDenylist
from F_RepositoryPackage.access_token_reader import (
    AccessTokenReader,
    PostgresAccessTokenReader,
    SqlAlchemyAccessTokenReader,
)
from F_RepositoryPackage.read_side import READ_THREADS, in_worker_thread
from I_ControllerPackage.dependencies import build_access_token_reader
from tests.repository_support import NOW, make_user, seed
from tests.support import FakeClock, checked_out

pytestmark = pytest.mark.anyio


@pytest.fixture
def clock() -> FakeClock:
    """The seeded rows' time (NOW) as the reader's now."""
    clock = FakeClock()
    clock.offset = NOW - clock.now()
    return clock


def reader_for(
    database: Database, clock: FakeClock, denylist: TokenDenylist | None = None
) -> AccessTokenReader:
    reader = build_access_token_reader(database, clock, denylist)
    expected = SqlAlchemyAccessTokenReader if database.is_sqlite else PostgresAccessTokenReader
    assert isinstance(reader, expected)
    return reader


def deny_in_database(database: Database, jti: str, expires_at: datetime) -> None:
    with database.session() as session:
        session.execute(insert(RevokedAccessToken).values(jti=jti, expires_at=expires_at))
        session.commit()


async def test_the_view_holds_the_public_fields_and_the_token_state(
    database: Database, clock: FakeClock
) -> None:
    [user_id] = seed(database, make_user("Viewed", "Viewed@Example.com", Role.ADMIN))
    view = await reader_for(database, clock).account_of(user_id, "j")
    assert view is not None
    assert (view.id, view.username, view.email, view.role) == (
        user_id,
        "Viewed",
        "Viewed@Example.com",
        "admin",
    )
    assert (view.is_active, view.token_version, view.full_name) == (True, 0, None)
    assert view.created_at == NOW
    assert view.updated_at == NOW
    assert not hasattr(view, "hashed_password")


async def test_an_unknown_account_is_none(database: Database, clock: FakeClock) -> None:
    seed(database, make_user("someone"))
    reader = reader_for(database, clock)
    assert await reader.account_of(10_000, "j") is None


async def test_a_token_on_the_database_denylist_is_none_until_its_denial_expires(
    database: Database, clock: FakeClock
) -> None:
    [user_id] = seed(database, make_user("denied"))
    deny_in_database(database, "ended", NOW + timedelta(minutes=5))
    reader = reader_for(database, clock)
    assert await reader.account_of(user_id, "ended") is None
    other = await reader.account_of(user_id, "other")
    assert other is not None
    assert other.id == user_id
    clock.advance(minutes=6)  # the token itself has expired by then; its row no longer counts
    after = await reader.account_of(user_id, "ended")
    assert after is not None
    assert after.id == user_id


async def test_with_redis_as_the_store_only_redis_is_asked(
    database: Database, clock: FakeClock, redis_url: str
) -> None:
    [user_id] = seed(database, make_user("redis-checked"))
    client = redis.Redis.from_url(redis_url)
    denylist = RedisTokenDenylist(client, clock)
    denied_jti, database_only_jti = f"r-{uuid.uuid4().hex}", f"d-{uuid.uuid4().hex}"
    denylist.deny([DeniedToken(denied_jti, NOW + timedelta(minutes=5))])
    deny_in_database(database, database_only_jti, NOW + timedelta(minutes=5))
    reader = reader_for(database, clock, denylist)
    try:
        assert await reader.account_of(user_id, denied_jti) is None
        view = await reader.account_of(user_id, database_only_jti)
        assert view is not None
        assert view.id == user_id
        assert await reader.account_of(10_000, "unknown-account") is None
    finally:
        client.close()


async def test_each_check_gives_its_connection_back(database: Database, clock: FakeClock) -> None:
    [user_id] = seed(database, make_user("pooled"))
    reader = reader_for(database, clock)
    for jti in ("a", "b", "c"):
        assert await reader.account_of(user_id, jti) is not None
        assert checked_out(database) == 0
        if database.async_read_pool is not None:
            assert database.async_read_pool.idle_count == 1


async def test_a_blocking_read_runs_off_the_event_loop_with_the_callers_context() -> None:
    request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
    request_id.set("req-1")

    def read(value: int) -> tuple[int, int, str | None]:
        return value * 2, threading.get_ident(), request_id.get()

    doubled, thread, seen_request_id = await in_worker_thread(read, 21)
    assert doubled == 42
    assert thread != threading.get_ident()
    assert seen_request_id == "req-1"


async def test_as_many_blocking_reads_run_at_once_as_anyio_allowed() -> None:
    """Each read waits until all of them have started: reads queued behind busy threads (the
    loop's default pool has CPUs + 4) would break the barrier instead."""
    started_together = threading.Barrier(READ_THREADS, timeout=10)

    def read(index: int) -> int:
        started_together.wait()
        return index

    results = await asyncio.gather(*(in_worker_thread(read, i) for i in range(READ_THREADS)))
    assert results == list(range(READ_THREADS))


async def test_a_blocking_reads_error_reaches_the_caller() -> None:
    def read() -> None:
        raise LookupError("no such row")

    with pytest.raises(LookupError, match="no such row"):
        await in_worker_thread(read)
