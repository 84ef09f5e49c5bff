"""The service's connection pools across a PostgreSQL restart, below HTTP: the unit of work's
connections are checked before use and replaced; the sign-in's read connections and the token
check's async ones are not checked, and one retry of the read makes a restart cost nothing
(the tests without the retry show what it saves).

The database is a private cluster (tests/private_postgres.py) that the test stops and starts.
"""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import DBAPIError

from A_DatabasePackage.async_read_pool import AsyncReadPool
from A_DatabasePackage.login_database_connection import Database
from A_DatabasePackage.migrations_runner import upgrade_to_head
from E_SecurityPackage.clock import SystemClock
from F_RepositoryPackage.access_token_reader import PostgresAccessTokenReader
from F_RepositoryPackage.login_repository import SqlAlchemyUserRepository
from F_RepositoryPackage.sign_in_reader import SqlAlchemySignInReader
from tests.private_postgres import PrivatePostgres
from tests.repository_support import make_user


def migrated_database(private_cluster: PrivatePostgres, name: str) -> Database:
    database = Database(make_url(private_cluster.fresh_database(name)), 4, 0)
    upgrade_to_head(database)
    return database


def pool_of_two(engine: Engine) -> None:
    """Two connections in the pool, both used moments ago."""
    with engine.connect() as first, engine.connect() as second:
        first.execute(text("SELECT 1"))
        second.execute(text("SELECT 1"))


def test_the_requests_connections_are_checked_before_use_and_replaced(
    private_cluster: PrivatePostgres,
) -> None:
    database = migrated_database(private_cluster, "auth_ping_requests")
    try:
        pool_of_two(database.engine)
        private_cluster.stop("fast")
        private_cluster.start()
        with database.session() as session:  # no error: both dead connections were replaced
            assert session.execute(text("SELECT 1")).scalar_one() == 1
            with database.session() as other:
                assert other.execute(text("SELECT 2")).scalar_one() == 2
    finally:
        database.dispose()


def test_a_restart_costs_the_sign_in_lookup_nothing(private_cluster: PrivatePostgres) -> None:
    """The sign-in's read connections are not pinged before use: the first statement on one
    fails after a restart, and the read runs again on a fresh connection."""
    database = migrated_database(private_cluster, "auth_reads_restart")
    try:
        user_id = add_user(database, "busy")
        sign_in_reader = SqlAlchemySignInReader(database.read_connection)
        pool_of_two(database.read_engine)
        private_cluster.stop("fast")
        private_cluster.start()
        for _ in range(3):
            record = sign_in_reader.find("busy")
            assert record is not None
            assert record.account.id == user_id
    finally:
        database.dispose()


def add_user(database: Database, username: str) -> int:
    with database.session() as session:
        user_id = SqlAlchemyUserRepository(session).add(make_user(username)).id
        session.commit()
    return user_id


def async_pool(database: Database) -> AsyncReadPool:
    assert database.async_read_pool is not None
    return database.async_read_pool


async def two_pooled_async_connections(pool: AsyncReadPool) -> None:
    async with pool.connection() as first, pool.connection() as second:
        await first.execute("SELECT 1")
        await second.execute("SELECT 1")
    assert pool.idle_count == 2


def test_a_restart_costs_the_token_check_nothing(private_cluster: PrivatePostgres) -> None:
    """The token check's async connections (psycopg 3) are not pinged either: after a restart
    the first read finds its connection dead, closes the other idle one, and reads again on a
    new connection; every check answers."""
    database = migrated_database(private_cluster, "auth_check_restart")
    pool = async_pool(database)
    reader = PostgresAccessTokenReader(pool, SystemClock())

    async def checks_across_a_restart() -> list[str | None]:
        await two_pooled_async_connections(pool)
        await asyncio.to_thread(private_cluster.restart_fast)
        views = [await reader.account_of(user_id, "some-jti") for _ in range(3)]
        assert pool.idle_count == 1
        return [view.username if view else None for view in views]

    try:
        user_id = add_user(database, "busy")
        assert asyncio.run(checks_across_a_restart()) == ["busy"] * 3
    finally:
        database.dispose()


def test_without_the_retry_that_restart_fails_one_async_statement(
    private_cluster: PrivatePostgres,
) -> None:
    """What the token check's retry relies on: a pooled connection that the restart killed
    fails its next statement and reports itself closed."""
    database = migrated_database(private_cluster, "auth_check_plain")
    pool = async_pool(database)

    async def plain_statement_across_a_restart() -> bool:
        await two_pooled_async_connections(pool)
        await asyncio.to_thread(private_cluster.restart_fast)
        async with pool.connection() as connection:
            with pytest.raises(psycopg.OperationalError):
                await connection.execute("SELECT 1")
            return connection.closed

    try:
        assert asyncio.run(plain_statement_across_a_restart())
        assert pool.idle_count == 1  # the dead one was dropped; the other waits for its turn
    finally:
        database.dispose()


def test_without_the_retry_that_restart_fails_one_statement(
    private_cluster: PrivatePostgres,
) -> None:
    """What the token check's retry saves: the same restart fails a plain statement once."""
    database = migrated_database(private_cluster, "auth_reads_plain")
    try:
        pool_of_two(database.read_engine)
        private_cluster.stop("fast")
        private_cluster.start()
        with pytest.raises(DBAPIError) as failure, database.read_connection() as connection:
            connection.execute(text("SELECT 1"))
        assert failure.value.connection_invalidated
        with database.read_connection() as connection:
            assert connection.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        database.dispose()
