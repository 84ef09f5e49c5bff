"""Data access for the audit trail: append, and read a filtered page ordered by id."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, insert, select
from sqlalchemy.orm import Session

from B_EntityPackage.audit_entities import AuditEvent
from C_SchemaPackage.audit_schemas import AuditQuery


class AuditRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, event: AuditEvent) -> None:
        """Write the row in the transaction; it commits or rolls back with the rest."""

    @abc.abstractmethod
    def page(self, where: AuditQuery, offset: int, limit: int) -> Sequence[AuditEvent]: ...

    @abc.abstractmethod
    def count(self, where: AuditQuery) -> int: ...


class SqlAlchemyAuditRepository(AuditRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, event: AuditEvent) -> None:
        values = {
            "occurred_at": event.occurred_at,
            "event_type": event.event_type,
            "outcome": event.outcome,
            "user_id": event.user_id,
            "actor_id": event.actor_id,
            "ip": event.ip,
            "user_agent": event.user_agent,
            "detail": event.detail,
        }
        self.session.connection().execute(insert(AuditEvent), values)

    @staticmethod
    def _conditions(where: AuditQuery) -> list[ColumnElement[Any]]:
        conditions: list[ColumnElement[Any]] = []
        if where.user_id is not None:
            conditions.append(AuditEvent.user_id == where.user_id)
        if where.event_type is not None:
            conditions.append(AuditEvent.event_type == where.event_type.value)
        if where.since is not None:
            conditions.append(AuditEvent.occurred_at >= where.since)
        if where.until is not None:
            conditions.append(AuditEvent.occurred_at < where.until)
        return conditions

    def page(self, where: AuditQuery, offset: int, limit: int) -> Sequence[AuditEvent]:
        statement = (
            select(AuditEvent)
            .where(*self._conditions(where))
            .order_by(AuditEvent.id)
            .offset(offset)
            .limit(limit)
        )
        return self.session.scalars(statement).all()

    def count(self, where: AuditQuery) -> int:
        statement = select(func.count()).select_from(AuditEvent).where(*self._conditions(where))
        return int(self.session.scalar(statement) or 0)
