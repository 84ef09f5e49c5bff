"""The token check's read session: each statement commits by itself (no BEGIN and ROLLBACK
round trips), and the check gives its connection back as soon as it ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, insert, select

from A_DatabasePackage.login_database_connection import Database
from B_EntityPackage.session_entities import RevokedAccessToken
from tests.support import bearer, login, register

FAR_FUTURE = datetime.now(UTC) + timedelta(days=1)


def stored_jtis(database: Database) -> set[str]:
    with database.session() as session:
        return set(session.scalars(select(RevokedAccessToken.jti)))


def test_the_read_session_keeps_no_transaction_open(database: Database) -> None:
    with database.read_session() as session:
        session.execute(
            insert(RevokedAccessToken).values(jti="autocommitted", expires_at=FAR_FUTURE)
        )
        session.rollback()  # too late: the statement committed by itself
    with database.session() as session:
        session.execute(insert(RevokedAccessToken).values(jti="rolled-back", expires_at=FAR_FUTURE))
        session.rollback()
    try:
        assert stored_jtis(database) == {"autocommitted"}
    finally:
        with database.session() as session:
            session.execute(delete(RevokedAccessToken))
            session.commit()


def test_the_request_session_still_rolls_back(database: Database) -> None:
    with database.session() as session:
        session.execute(insert(RevokedAccessToken).values(jti="pending", expires_at=FAR_FUTURE))
        with database.read_session() as reader:
            # A separate connection; on PostgreSQL it cannot see the other's pending row.
            seen = set(reader.scalars(select(RevokedAccessToken.jti)))
        session.rollback()
    if not database.is_sqlite:
        assert seen == set()
    assert stored_jtis(database) == set()


def test_a_token_check_gives_its_connection_back(client: TestClient, app: FastAPI) -> None:
    register(client)
    headers = bearer(login(client))
    database: Database = app.state.database
    for _ in range(3):
        response = client.get("/users/me", headers=headers)
        assert response.status_code == 200
        assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    refused = client.get("/users/me", headers=bearer(login(client) + "x"))
    assert refused.status_code == 401
    assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    logged_out = client.post("/logout", headers=headers)
    assert logged_out.status_code in (200, 204)
    assert client.get("/users/me", headers=headers).status_code == 401
    assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
