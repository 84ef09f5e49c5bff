"""The audit trail as GET /audit reads and shows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from B_EntityPackage.domain import AuditEventType, AuditOutcome


def as_utc(value: datetime | None) -> datetime | None:
    """A query time in UTC; a time without an offset is taken as UTC. A ValueError (a 422)
    for one that has no UTC equivalent (year 9999 with a negative offset)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range") from None


@dataclass(frozen=True)
class AuditQuery:
    """Every given field must match; `since` is inclusive, `until` exclusive."""

    user_id: int | None = None
    event_type: AuditEventType | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    event_type: AuditEventType
    outcome: AuditOutcome
    user_id: int | None = Field(description="The account the event is about")
    actor_id: int | None = Field(description="The admin who acted on the account, if any")
    ip: str | None
    user_agent: str | None
    detail: str | None = Field(
        description="Why: an error code (INVALID_CREDENTIALS, ...) or the limit that was reached"
    )


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    total: int
    offset: int
    limit: int
