"""The audit repository on each backend: append, filter, count, order, times in UTC."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from A_DatabasePackage.database import Database
from B_EntityPackage.audit_entities import AuditEvent
from B_EntityPackage.domain import AuditEventType
from C_SchemaPackage.audit_schemas import AuditQuery
from F_RepositoryPackage.unit_of_work import SqlAlchemyUnitOfWork
from tests.support import sql_unit_of_work

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def event(
    kind: AuditEventType, user_id: int | None, minutes: int, outcome: str = "success"
) -> AuditEvent:
    return AuditEvent(
        occurred_at=T0 + timedelta(minutes=minutes),
        event_type=kind.value,
        outcome=outcome,
        user_id=user_id,
        actor_id=None,
        ip="203.0.113.7",
        user_agent="agent",
        detail=None,
    )


@pytest.fixture
def stored(database: Database) -> Iterator[SqlAlchemyUnitOfWork]:
    uow = sql_unit_of_work(database)
    with uow:
        for item in (
            event(AuditEventType.REGISTER, 1, 0),
            event(AuditEventType.LOGIN, 1, 10, "failure"),
            event(AuditEventType.LOGIN, None, 20, "failure"),
            event(AuditEventType.LOGIN, 2, 30),
            event(AuditEventType.LOCKOUT, 1, 40, "failure"),
        ):
            uow.audit.add(item)
        uow.commit()
    yield uow
    uow.session.close()


def kinds(
    uow: SqlAlchemyUnitOfWork, query: AuditQuery, offset: int = 0, limit: int = 50
) -> list[tuple[str, int | None]]:
    with uow:
        return [(e.event_type, e.user_id) for e in uow.audit.page(query, offset, limit)]


def test_add_assigns_increasing_ids_and_keeps_utc(stored: SqlAlchemyUnitOfWork) -> None:
    with stored:
        rows = stored.audit.page(AuditQuery(), 0, 50)
        assert [row.id for row in rows] == sorted(row.id for row in rows)
        assert rows[0].occurred_at == T0
        assert rows[0].occurred_at.tzinfo is not None
        assert stored.audit.count(AuditQuery()) == 5


def test_filters(stored: SqlAlchemyUnitOfWork) -> None:
    assert kinds(stored, AuditQuery(user_id=1)) == [
        ("register", 1),
        ("login", 1),
        ("lockout", 1),
    ]
    assert kinds(stored, AuditQuery(event_type=AuditEventType.LOGIN)) == [
        ("login", 1),
        ("login", None),
        ("login", 2),
    ]
    assert kinds(stored, AuditQuery(user_id=1, event_type=AuditEventType.LOGIN)) == [("login", 1)]
    window = AuditQuery(since=T0 + timedelta(minutes=10), until=T0 + timedelta(minutes=30))
    assert kinds(stored, window) == [("login", 1), ("login", None)]  # since in, until out
    with stored:
        assert stored.audit.count(window) == 2
        assert stored.audit.count(AuditQuery(user_id=3)) == 0


def test_pages(stored: SqlAlchemyUnitOfWork) -> None:
    assert kinds(stored, AuditQuery(), offset=1, limit=2) == [("login", 1), ("login", None)]
    assert kinds(stored, AuditQuery(), offset=5) == []


def test_rows_outlive_a_rollback_only_when_committed(stored: SqlAlchemyUnitOfWork) -> None:
    with stored:
        stored.audit.add(event(AuditEventType.LOGOUT, 1, 50))
    with stored:
        assert stored.audit.count(AuditQuery()) == 5
