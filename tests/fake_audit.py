"""An in-memory audit repository for service tests: rows become visible on commit."""

from __future__ import annotations

from collections.abc import Sequence

from B_EntityPackage.audit_entities import AuditEvent
from C_SchemaPackage.audit_schemas import AuditQuery
from F_RepositoryPackage.audit_repository import AuditRepository


class FakeAuditRepository(AuditRepository):
    def __init__(self) -> None:
        self.rows: list[AuditEvent] = []
        self._pending: list[AuditEvent] = []
        self._next_id = 1

    def add(self, event: AuditEvent) -> None:
        event.id = self._next_id
        self._next_id += 1
        self._pending.append(event)

    def _matching(self, where: AuditQuery) -> list[AuditEvent]:
        return [
            event
            for event in self.rows
            if (where.user_id is None or event.user_id == where.user_id)
            and (where.event_type is None or event.event_type == where.event_type.value)
            and (where.since is None or event.occurred_at >= where.since)
            and (where.until is None or event.occurred_at < where.until)
        ]

    def page(self, where: AuditQuery, offset: int, limit: int) -> Sequence[AuditEvent]:
        return self._matching(where)[offset : offset + limit]

    def count(self, where: AuditQuery) -> int:
        return len(self._matching(where))

    def commit(self) -> None:
        self.rows.extend(self._pending)
        self._pending.clear()

    def rollback(self) -> None:
        self._pending.clear()

    def kinds(self) -> list[tuple[str, str, int | None, str | None]]:
        """The committed rows as (event_type, outcome, user_id, detail)."""
        return [(e.event_type, e.outcome, e.user_id, e.detail) for e in self.rows]
