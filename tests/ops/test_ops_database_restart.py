"""The service's connection pool across a PostgreSQL restart, below HTTP: the unit of work's
connections are checked before use and replaced, so a restart costs no request.

The database is a private cluster (tests/private_postgres.py) that the test stops and starts.
"""

from __future__ import annotations

from sqlalchemy import Engine, make_url, text

from A_DatabasePackage.database import Database
from A_DatabasePackage.migrations_runner import upgrade_to_head
from F_RepositoryPackage.login_repository import SqlAlchemyUserRepository
from tests.private_postgres import PrivatePostgres
from tests.repository_support import make_user
from tests.support import sql_unit_of_work


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


def test_a_restart_costs_sign_in_lookups_nothing(private_cluster: PrivatePostgres) -> None:
    """Every statement goes through the unit of work's pool, whose connections are pinged
    before use: after a restart each lookup answers."""
    database = migrated_database(private_cluster, "auth_reads_restart")
    try:
        user_id = add_user(database, "busy")
        pool_of_two(database.engine)
        private_cluster.stop("fast")
        private_cluster.start()
        uow = sql_unit_of_work(database)
        for _ in range(3):
            with uow:
                found = uow.users.credentials_for_sign_in("busy")
                assert found is not None
                assert found.account.id == user_id
    finally:
        database.dispose()


def add_user(database: Database, username: str) -> int:
    with database.session() as session:
        user_id = SqlAlchemyUserRepository(session).add(make_user(username)).id
        session.commit()
    return user_id
