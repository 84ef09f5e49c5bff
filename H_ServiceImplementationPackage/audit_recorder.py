"""How the services write the audit trail.

A recorder is built per request (I_ControllerPackage.dependencies) with the caller's address
and user agent and, for admin actions, the acting admin; the services pass only what
happened. `add` writes the row in the caller's unit of work, so a successful action and its
audit row commit (or roll back) together. `commit_alone` is for failures, which roll their
work back: it discards whatever the unit of work holds, then commits the row on its own,
before the service raises.
"""

from __future__ import annotations

from B_EntityPackage.audit_entities import AuditEvent, AuditEventType, AuditOutcome
from B_EntityPackage.session_entities import IP_MAX_LENGTH, USER_AGENT_MAX_LENGTH
from E_SecurityPackage.access_context import ClientInfo
from E_SecurityPackage.clock import Clock
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork

NO_CLIENT = ClientInfo(ip=None, user_agent=None)


def _clip(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else None


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
            ip=_clip(self.client.ip, IP_MAX_LENGTH),
            user_agent=_clip(self.client.user_agent, USER_AGENT_MAX_LENGTH),
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

    def commit_alone(
        self,
        uow: AbstractUnitOfWork,
        events: list[AuditEvent],
    ) -> None:
        """Roll back what the unit of work holds and commit just these rows."""
        uow.rollback()
        with uow:
            for event in events:
                uow.audit.add(event)
            uow.commit()

    def failure(
        self,
        uow: AbstractUnitOfWork,
        event_type: AuditEventType,
        user_id: int | None,
        detail: str,
    ) -> None:
        """One failure row, committed on its own."""
        self.commit_alone(uow, [self.event(event_type, AuditOutcome.FAILURE, user_id, detail)])
