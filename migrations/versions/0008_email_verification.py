"""Email verification and change: when the account's address was proven, when its last lockout
notice went out, and the address a one-time token is about.

Accounts that existed before this migration start unverified: nothing proved their addresses.

Revision ID: 0008_email_verification
Revises: 0007_signing_keys
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from B_EntityPackage.login_entity_master import UTCDateTime

revision: str = "0008_email_verification"
down_revision: str | None = "0007_signing_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("email_verified_at", UTCDateTime(), nullable=True))
    op.add_column("users", sa.Column("lockout_notice_at", UTCDateTime(), nullable=True))
    op.add_column("one_time_tokens", sa.Column("email", sa.String(320), nullable=True))
    op.create_index("ix_one_time_tokens_email_lower", "one_time_tokens", [sa.text("lower(email)")])


def downgrade() -> None:
    """Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later): a batch copy of `users`
    would lose its expression indexes."""
    op.drop_index("ix_one_time_tokens_email_lower", table_name="one_time_tokens")
    op.drop_column("one_time_tokens", "email")
    op.drop_column("users", "lockout_notice_at")
    op.drop_column("users", "email_verified_at")
