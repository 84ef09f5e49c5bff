"""The audit trail: one row per security event, kept after the account it names is deleted.

`user_id` and `actor_id` carry no foreign key on purpose, so the history of a deleted account
stays. `detail` holds a code (INVALID_CREDENTIALS, LOGIN_MAX_FAILURES, ...), never input: no
password, token or attempted sign-in name is ever written here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from B_EntityPackage.domain import IP_MAX_LENGTH, USER_AGENT_MAX_LENGTH
from B_EntityPackage.login_entity_master import Base, BigIntegerKey, UTCDateTime

EVENT_TYPE_MAX_LENGTH = 32
DETAIL_MAX_LENGTH = 64


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    event_type: Mapped[str] = mapped_column(String(EVENT_TYPE_MAX_LENGTH))
    outcome: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(BigIntegerKey, default=None)
    actor_id: Mapped[int | None] = mapped_column(BigIntegerKey, default=None)
    ip: Mapped[str | None] = mapped_column(String(IP_MAX_LENGTH), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX_LENGTH), default=None)
    detail: Mapped[str | None] = mapped_column(String(DETAIL_MAX_LENGTH), default=None)

    __table_args__ = (
        CheckConstraint("outcome IN ('success', 'failure')", name="outcome_known"),
        Index("ix_audit_events_user_id_id", "user_id", "id"),
        Index("ix_audit_events_event_type_id", "event_type", "id"),
        Index("ix_audit_events_occurred_at", "occurred_at"),
        {"sqlite_autoincrement": True},
    )
