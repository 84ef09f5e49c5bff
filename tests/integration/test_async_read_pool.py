"""The token check's pool of psycopg 3 async connections (A_DatabasePackage.async_read_pool) and
the reads on it (F_RepositoryPackage.read_side.first_row_async), on the real PostgreSQL: at
most `size` connections, a refused server an error at once, a failed or cancelled connection
never reused, a new event loop a fresh start, and the column types' conversions applied."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import LiteralString

import psycopg
import pytest
from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import make_url

from A_DatabasePackage import async_read_pool
from A_DatabasePackage.async_read_pool import (
    AsyncReadPool,
    ReadPoolTimeoutError,
    conninfo_from_url,
)
from A_DatabasePackage.login_database_connection import Database
from B_EntityPackage.login_entity_master import User
from D_CustomExceptionPackage.errors import ServiceUnavailableError
from F_RepositoryPackage.access_token_reader import ACCOUNT_BY_ID_READ
from F_RepositoryPackage.read_side import PostgresRead, first_row_async
from tests.live_server import free_port
from tests.repository_support import NOW, make_user, seed

pytestmark = pytest.mark.anyio


@pytest.fixture
def conninfo(postgres_url: str) -> str:
    return conninfo_from_url(make_url(postgres_url))


SLEEPING = select(func.pg_sleep(bindparam("seconds", type_=Float)))


async def one_integer(pool: AsyncReadPool, sql: LiteralString) -> int:
    """The integer `sql` answers on one of the pool's connections; never prepared, so the
    test's own queries do not count in pg_prepared_statements."""
    async with pool.connection() as connection:
        cursor = await connection.execute(sql, prepare=False)
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def backend_pid(pool: AsyncReadPool) -> int:
    return await one_integer(pool, "SELECT pg_backend_pid()")


async def prepared_on_server(pool: AsyncReadPool) -> int:
    return await one_integer(pool, "SELECT count(*) FROM pg_prepared_statements")


def test_the_connection_string_keeps_the_urls_settings() -> None:
    url = make_url(
        "postgresql+psycopg2://someone:s%40cret@db.internal:6543/auth?sslmode=verify-full"
    )
    settings = psycopg.conninfo.conninfo_to_dict(conninfo_from_url(url))
    assert settings == {
        "host": "db.internal",
        "port": "6543",
        "dbname": "auth",
        "user": "someone",
        "password": "s@cret",
        "sslmode": "verify-full",
        "connect_timeout": "5",
        "keepalives": "1",
        "keepalives_idle": "30",
        "keepalives_interval": "10",
        "keepalives_count": "3",
    }
    overridden = make_url("postgresql://u@h/d?connect_timeout=2")
    assert (
        psycopg.conninfo.conninfo_to_dict(conninfo_from_url(overridden))["connect_timeout"] == "2"
    )


async def test_connections_are_reused_most_recent_first(conninfo: str) -> None:
    pool = AsyncReadPool(conninfo, size=2)
    try:
        first = await backend_pid(pool)
        assert await backend_pid(pool) == first
        assert (pool.idle_count, pool.in_use_count) == (1, 0)
    finally:
        pool.close()


async def test_at_most_size_connections_then_a_bounded_wait(conninfo: str) -> None:
    pool = AsyncReadPool(conninfo, size=2, wait_seconds=0.3)
    try:
        async with pool.connection(), pool.connection():
            assert pool.in_use_count == 2
            started = time.monotonic()
            with pytest.raises(ReadPoolTimeoutError):
                async with pool.connection():
                    pass
            assert 0.25 < time.monotonic() - started < 2
        assert (pool.idle_count, pool.in_use_count) == (2, 0)
    finally:
        pool.close()


async def test_a_waiting_request_gets_the_connection_given_back(conninfo: str) -> None:
    pool = AsyncReadPool(conninfo, size=1, wait_seconds=5)
    try:
        holder_pid = await backend_pid(pool)
        released = asyncio.Event()

        async def hold_briefly() -> None:
            async with pool.connection():
                released.set()
                await asyncio.sleep(0.2)

        holder = asyncio.create_task(hold_briefly())
        await released.wait()
        assert await backend_pid(pool) == holder_pid  # waited, then reused it
        await holder
    finally:
        pool.close()


async def test_a_refused_server_is_an_error_at_once(conninfo: str) -> None:
    unreachable = psycopg.conninfo.make_conninfo(
        conninfo,
        host="127.0.0.1",
        port=str(free_port()),  # nothing listens there
    )
    pool = AsyncReadPool(unreachable, size=2, wait_seconds=10)
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError):
        async with pool.connection():
            pass
    assert time.monotonic() - started < 2
    assert (pool.idle_count, pool.in_use_count) == (0, 0)
    with pytest.raises(ServiceUnavailableError):
        await first_row_async(pool, ACCOUNT_BY_ID_READ, {"user_id": 1})


async def test_a_busy_pool_is_service_unavailable(conninfo: str) -> None:
    pool = AsyncReadPool(conninfo, size=1, wait_seconds=0.2)
    try:
        async with pool.connection():
            with pytest.raises(ServiceUnavailableError) as unavailable:
                await first_row_async(pool, ACCOUNT_BY_ID_READ, {"user_id": 1})
        assert isinstance(unavailable.value.__cause__, ReadPoolTimeoutError)
    finally:
        pool.close()


async def test_a_connection_that_failed_in_use_is_closed_not_reused(conninfo: str) -> None:
    pool = AsyncReadPool(conninfo, size=2)
    try:
        failed_pid = await backend_pid(pool)
        with pytest.raises(psycopg.errors.UndefinedTable):
            async with pool.connection() as connection:
                await connection.execute("SELECT * FROM no_such_table")
        assert connection.closed
        assert (pool.idle_count, pool.in_use_count) == (0, 0)
        assert await backend_pid(pool) != failed_pid
    finally:
        pool.close()


async def test_a_cancelled_read_closes_its_connection(conninfo: str) -> None:
    pool = AsyncReadPool(conninfo, size=1)
    try:
        sleeping = first_row_async(pool, PostgresRead(SLEEPING), {"seconds": 5})
        reading = asyncio.create_task(sleeping)
        await asyncio.sleep(0.3)
        assert pool.in_use_count == 1
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
        assert (pool.idle_count, pool.in_use_count) == (0, 0)
        assert await backend_pid(pool) > 0  # the slot came back
    finally:
        pool.close()


def test_a_new_event_loop_starts_afresh(conninfo: str) -> None:
    pool = AsyncReadPool(conninfo, size=2)
    try:
        first = asyncio.run(backend_pid(pool))
        assert pool.idle_count == 1
        second = asyncio.run(backend_pid(pool))
        assert second != first  # the first loop's connection was closed, not shared
        assert pool.idle_count == 1
    finally:
        pool.close()


async def test_old_connections_are_replaced(conninfo: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pool = AsyncReadPool(conninfo, size=2)
    try:
        first = await backend_pid(pool)
        monkeypatch.setattr(async_read_pool, "POOL_RECYCLE_SECONDS", 0)
        assert await backend_pid(pool) != first
        assert pool.idle_count == 1
    finally:
        pool.close()


@pytest.mark.backends("postgresql")
async def test_reads_convert_as_sqlalchemy_would(database: Database) -> None:
    """Times come back in UTC whatever the session's time zone, and the bound values go
    through the column types (an aware datetime; a naive one is refused)."""
    [user_id] = seed(database, make_user("tz-view"))
    tokyo = psycopg.conninfo.make_conninfo(
        conninfo_from_url(database.url), options="-c timezone=Asia/Tokyo"
    )
    pool = AsyncReadPool(tokyo, size=1)
    try:
        row = await first_row_async(pool, ACCOUNT_BY_ID_READ, {"user_id": user_id})
        assert row is not None
        created_at = row[7]
        assert created_at == NOW
        assert created_at.tzinfo is UTC
        since = select(User.id).where(User.created_at >= bindparam("since"))
        with pytest.raises(ValueError, match="naive"):
            await first_row_async(pool, PostgresRead(since), {"since": datetime(2020, 1, 1)})
        async with pool.connection() as connection:
            cursor = await connection.execute("SELECT created_at FROM users")
            raw = await cursor.fetchone()
        assert raw is not None
        assert raw[0].utcoffset().total_seconds() == 9 * 3600  # what the driver alone gives
    finally:
        pool.close()


def test_a_statement_with_literal_values_is_refused() -> None:
    with pytest.raises(ValueError, match="by name"):
        PostgresRead(select(User.id).where(User.username == "fixed"))


@pytest.mark.parametrize(("prepare_statements", "prepared"), [(True, 1), (False, 0)])
async def test_statements_are_prepared_on_the_server_unless_turned_off(
    conninfo: str, prepare_statements: bool, prepared: int
) -> None:
    """Prepared once per connection and reused; DB_PREPARED_STATEMENTS=false prepares none,
    for PgBouncer older than 1.21 in transaction mode (README "Sizing")."""
    pool = AsyncReadPool(conninfo, size=1, prepare_statements=prepare_statements)
    try:
        for _ in range(10):
            assert await first_row_async(pool, PostgresRead(SLEEPING), {"seconds": 0}) == ("",)
        assert await prepared_on_server(pool) == prepared
    finally:
        pool.close()


async def test_a_statement_the_server_lost_is_read_again_on_a_new_connection(
    conninfo: str,
) -> None:
    """What a pooler that does not follow prepared statements, or a DEALLOCATE, does to a
    connection: psycopg still believes the statement prepared, the server no longer has it."""
    pool = AsyncReadPool(conninfo, size=2)
    read = PostgresRead(SLEEPING)
    try:
        await first_row_async(pool, read, {"seconds": 0})
        async with pool.connection() as connection:
            forgetful_pid = connection.info.backend_pid
            connection.pgconn.exec_(b"DEALLOCATE ALL")  # behind psycopg's back
        assert await first_row_async(pool, read, {"seconds": 0}) == ("",)
        assert pool.idle_count == 1
        assert await backend_pid(pool) != forgetful_pid
    finally:
        pool.close()


@pytest.mark.backends("postgresql")
async def test_a_column_type_changed_by_a_migration_costs_one_read_again(
    database: Database,
) -> None:
    """PostgreSQL refuses a prepared plan whose result type changed ("cached plan must not
    change result type"); every idle connection prepared it, so the read goes to a new one."""
    probe = Table(
        "prepared_plan_probe",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("name", String(20)),
    )
    probe.create(database.engine)
    try:
        with database.engine.begin() as connection:
            connection.execute(insert(probe).values(id=1, name="before"))
        read = PostgresRead(select(probe.c.name).where(probe.c.id == bindparam("id")))
        pool = AsyncReadPool(conninfo_from_url(database.url), size=2)
        try:
            async with pool.connection(), pool.connection():
                pass  # two idle connections
            for _ in range(2):
                assert await first_row_async(pool, read, {"id": 1}) == ("before",)
            with database.engine.begin() as connection:
                connection.execute(
                    text("ALTER TABLE prepared_plan_probe ALTER COLUMN name TYPE text")
                )
            assert await first_row_async(pool, read, {"id": 1}) == ("before",)
            assert pool.idle_count == 1  # the other stale connection was closed too
        finally:
            pool.close()
    finally:
        probe.drop(database.engine)
