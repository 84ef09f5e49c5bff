"""The audit trail of security events.

Revision ID: 0003_audit_events
Revises: 0002_sessions
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from B_EntityPackage.login_entity_master import UTCDateTime

revision: str = "0003_audit_events"
down_revision: str | None = "0002_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", KEY, primary_key=True, autoincrement=True),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("user_id", KEY, nullable=True),
        sa.Column("actor_id", KEY, nullable=True),
        sa.Column("ip", sa.String(45), nullable=True),
        sa.Column("user_agent", sa.String(255), nullable=True),
        sa.Column("detail", sa.String(64), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('success', 'failure')", name=op.f("ck_audit_events_outcome_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_events_user_id_id", "audit_events", ["user_id", "id"])
    op.create_index("ix_audit_events_event_type_id", "audit_events", ["event_type", "id"])
    op.create_index("ix_audit_events_occurred_at", "audit_events", ["occurred_at"])


def downgrade() -> None:
    op.drop_table("audit_events")
