"""The token check's read connection: it holds no transaction open (no BEGIN and ROLLBACK
round trips on PostgreSQL), it sees only committed rows, and every check gives it back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import insert, make_url, select, text

from A_DatabasePackage.login_database_connection import Database
from B_EntityPackage.session_entities import RevokedAccessToken
from tests.support import bearer, checked_out, login, register

FAR_FUTURE = datetime.now(UTC) + timedelta(days=1)


def test_a_read_leaves_no_transaction_open(database: Database) -> None:
    with database.read_connection() as connection:
        assert connection.execute(select(RevokedAccessToken.jti)).all() == []
        if database.is_sqlite:
            assert connection.connection.dbapi_connection.in_transaction is False  # type: ignore[union-attr]
        else:
            backend_pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with database.engine.connect() as observer:
                state = observer.execute(
                    text("SELECT state FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": backend_pid},
                ).scalar_one()
            assert state == "idle"  # not "idle in transaction"


def test_a_read_sees_only_committed_rows(database: Database) -> None:
    with database.session() as session:
        session.execute(insert(RevokedAccessToken).values(jti="pending", expires_at=FAR_FUTURE))
        session.flush()
        if not database.is_sqlite:  # SQLite's writer would block this reader's file lock
            with database.read_connection() as reader:
                assert reader.execute(select(RevokedAccessToken.jti)).all() == []
        session.commit()
    with database.read_connection() as reader:
        assert reader.execute(select(RevokedAccessToken.jti)).scalars().all() == ["pending"]


def test_a_token_check_gives_its_connection_back(client: TestClient, app: FastAPI) -> None:
    register(client)
    headers = bearer(login(client))
    database: Database = app.state.database
    for _ in range(3):
        response = client.get("/users/me", headers=headers)
        assert response.status_code == 200
        assert checked_out(database) == 0
    refused = client.get("/users/me", headers=bearer(login(client) + "x"))
    assert refused.status_code == 401
    assert checked_out(database) == 0
    logged_out = client.post("/logout", headers=headers)
    assert logged_out.status_code in (200, 204)
    assert client.get("/users/me", headers=headers).status_code == 401
    assert checked_out(database) == 0


def test_postgresql_reads_have_a_small_autocommit_pool_of_their_own(database_url: str) -> None:
    database = Database(make_url(database_url), pool_size=6, max_overflow=3)
    try:
        if database.is_sqlite:
            assert database.read_engine is database.engine
            return
        pool = database.read_engine.pool
        assert (pool.size(), pool._max_overflow) == (3, 0)  # type: ignore[attr-defined]
        with database.read_connection() as reader:
            assert reader.connection.dbapi_connection.autocommit is True  # type: ignore[union-attr]
            with database.session() as session:
                session.execute(text("SELECT 1"))
                assert session.connection().connection.dbapi_connection.autocommit is False  # type: ignore[union-attr]
    finally:
        database.dispose()
