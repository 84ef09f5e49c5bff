"""CompiledInsert alone, on SQLite and PostgreSQL: the rows it writes read back through the ORM
as written, in the unit of work's transaction, with SQLAlchemy's errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from A_DatabasePackage.login_database_connection import Database
from B_EntityPackage.audit_entities import AuditEvent
from B_EntityPackage.login_entity_master import User
from B_EntityPackage.session_entities import AuthSession, SessionAccessToken
from F_RepositoryPackage.core_insert import CompiledInsert, assigned_values
from F_RepositoryPackage.login_repository import SqlAlchemyUserRepository
from tests.repository_support import make_user

NOW = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


pytestmark = pytest.mark.backends("sqlite", "postgresql")  # Redis plays no part here


def add_user(session: Session, name: str) -> int:
    user_id = SqlAlchemyUserRepository(session).add(make_user(name)).id
    session.commit()
    return user_id


def test_rows_read_back_as_written_with_the_returned_id(database: Database) -> None:
    sessions = CompiledInsert(AuthSession, returning="id")
    events = CompiledInsert(AuditEvent)
    with database.session() as session:
        user_id = add_user(session, "ada")
        in_paris = NOW.astimezone(timezone(timedelta(hours=1)))
        first = sessions.run(
            session,
            {"user_id": user_id, "created_at": in_paris, "last_used_at": NOW, "expires_at": NOW},
        )
        second = sessions.run(
            session,
            assigned_values(
                AuthSession(
                    user_id=user_id,
                    created_at=NOW,
                    last_used_at=NOW,
                    expires_at=NOW + timedelta(days=1),
                    user_agent="agent/1.0 ünïcode",
                    ip="2001:db8::1",
                )
            ),
        )
        events.run(
            session,
            {"occurred_at": NOW, "event_type": "login", "outcome": "success", "user_id": user_id},
        )
        session.commit()
    assert isinstance(first, int)
    assert second == first + 1
    with database.session() as session:
        stored = session.scalars(select(AuthSession).order_by(AuthSession.id)).all()
        assert [row.id for row in stored] == [first, second]
        assert stored[0].created_at == NOW
        assert stored[0].created_at.tzinfo is not None
        assert (stored[0].user_agent, stored[0].ip, stored[0].ended_at) == (None, None, None)
        assert stored[1].expires_at == NOW + timedelta(days=1)
        assert (stored[1].user_agent, stored[1].ip) == ("agent/1.0 ünïcode", "2001:db8::1")
        event = session.scalars(select(AuditEvent)).one()
        assert (event.occurred_at, event.event_type, event.user_id) == (NOW, "login", user_id)
        assert (event.actor_id, event.detail) == (None, None)


def test_a_row_is_part_of_the_unit_of_work_and_goes_with_its_rollback(database: Database) -> None:
    with database.session() as session:
        user_id = add_user(session, "ada")
        CompiledInsert(AuthSession).run(
            session,
            {"user_id": user_id, "created_at": NOW, "last_used_at": NOW, "expires_at": NOW},
        )
        assert session.scalar(select(AuthSession.user_id)) == user_id  # same transaction
        session.rollback()
    with database.session() as session:
        assert session.scalars(select(AuthSession)).all() == []


def test_a_violation_is_sqlalchemys_integrity_error_and_writes_nothing(database: Database) -> None:
    records = CompiledInsert(SessionAccessToken)
    with database.session() as session:
        user_id = add_user(session, "ada")
        session_id = CompiledInsert(AuthSession, returning="id").run(
            session,
            {"user_id": user_id, "created_at": NOW, "last_used_at": NOW, "expires_at": NOW},
        )
        record = {"jti": "same", "session_id": session_id, "expires_at": NOW}
        records.run(session, record)
        with pytest.raises(IntegrityError) as raised:
            records.run(session, record)
        assert "same" in str(raised.value.params)
        session.rollback()
        with pytest.raises(IntegrityError):  # the session does not exist
            records.run(session, {"jti": "other", "session_id": 999_999, "expires_at": NOW})
        session.rollback()
    with database.session() as session:
        assert session.scalars(select(SessionAccessToken)).all() == []
        assert session.scalars(select(AuthSession)).all() == []


def test_a_table_with_python_side_defaults_is_refused() -> None:
    with pytest.raises(ValueError, match="users"):
        CompiledInsert(User)


@pytest.mark.backends("postgresql")  # only a server connection can die
def test_a_connection_found_dead_is_invalidated(database: Database) -> None:
    with database.session() as session:
        user_id = add_user(session, "ada")
        backend_pid = session.scalar(text("SELECT pg_backend_pid()"))
        with database.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend_pid})
        with pytest.raises(DBAPIError) as raised:
            CompiledInsert(AuthSession).run(
                session,
                {"user_id": user_id, "created_at": NOW, "last_used_at": NOW, "expires_at": NOW},
            )
        assert raised.value.connection_invalidated
        session.rollback()
        assert session.scalar(select(AuthSession.id)) is None  # a new connection works
