"""How the services write the audit trail.

A recorder is built per request (I_ControllerPackage.dependencies) with the caller's address
and user agent and, for admin actions, the acting admin; the services pass only what
happened. Rows are written in the caller's unit of work, so an action and its audit row
commit (or roll back) together.
"""

from __future__ import annotations

from collections.abc import Iterable

from B_EntityPackage.audit_entities import AuditEvent
from B_EntityPackage.domain import NO_CLIENT, AuditEventType, AuditOutcome, ClientInfo, Clock
from E_SecurityPackage.login_throttle import LimitName
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork


class AuditRecorder:
    def __init__(
        self, clock: Clock, client: ClientInfo = NO_CLIENT, actor_id: int | None = None
    ) -> None:
        self.clock = clock
        self.client = client
        self.actor_id = actor_id

    def event(
        self,
        event_type: AuditEventType,
        outcome: AuditOutcome,
        user_id: int | None,
        detail: str | None = None,
    ) -> AuditEvent:
        return AuditEvent(
            occurred_at=self.clock.now(),
            event_type=event_type.value,
            outcome=outcome.value,
            user_id=user_id,
            actor_id=self.actor_id,
            ip=self.client.ip,
            user_agent=self.client.user_agent,
            detail=detail,
        )

    def add(
        self,
        uow: AbstractUnitOfWork,
        event_type: AuditEventType,
        user_id: int | None,
        outcome: AuditOutcome = AuditOutcome.SUCCESS,
        detail: str | None = None,
    ) -> None:
        """Write the row in the unit of work in progress; the caller commits."""
        uow.audit.add(self.event(event_type, outcome, user_id, detail))

    def failure_with_lockouts(
        self,
        event_type: AuditEventType,
        user_id: int | None,
        code: str,
        filled: Iterable[LimitName],
    ) -> list[AuditEvent]:
        """A failed check's row, and a `lockout` row for each limit the failure filled."""
        failure = self.event(event_type, AuditOutcome.FAILURE, user_id, code)
        lockouts = [
            self.event(AuditEventType.LOCKOUT, AuditOutcome.FAILURE, user_id, limit.value)
            for limit in filled
        ]
        return [failure, *lockouts]
