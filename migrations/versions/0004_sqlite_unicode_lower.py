"""SQLite: rebuild the case-insensitive unique indexes with the Unicode-aware lower().

The service now replaces SQLite's ASCII-only lower() on every connection (see
A_DatabasePackage.database.unicode_lower); indexes built with the old one
must be rebuilt so lookups and uniqueness agree with it. PostgreSQL's lower() already folds
Unicode: nothing to do there.

Revision ID: 0004_sqlite_unicode_lower
Revises: 0003_audit_events
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004_sqlite_unicode_lower"
down_revision: str | None = "0003_audit_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = ("uq_users_username_lower", "uq_users_email_lower")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for index in INDEXES:
            op.execute(f"REINDEX {index}")


def downgrade() -> None:
    """Nothing to undo: the indexes keep their definition."""
