"""Account recovery and verification: one-time tokens (password reset, email verification
and change, security notices' links) and the mail outbox."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from B_EntityPackage.login_entity_master import Base, BigIntegerKey, UTCDateTime


class TokenPurpose(enum.StrEnum):
    PASSWORD_RESET = "password_reset"  # noqa: S105 (a purpose name)
    NOT_ME = "not_me"  # a security notice's "it was not me" link
    EMAIL_VERIFY = "email_verify"  # proves the account's own address
    EMAIL_CHANGE = "email_change"  # proves a new address, which then replaces the old


# What a password change, a reset, a disable or "it was not me" spends: every pending link
# that acts on the account. A notice's "it was not me" link survives them, so that an
# intruder who changes the password cannot also spend the owner's way back.
SPENT_WHEN_ALL_ENDS = (
    TokenPurpose.PASSWORD_RESET.value,
    TokenPurpose.EMAIL_VERIFY.value,
    TokenPurpose.EMAIL_CHANGE.value,
)


class OneTimeToken(Base):
    """A mailed token: the link's token and the short code, both stored only as hashes.

    Spent (`used_at`) by its first use, by a newer token of the same purpose, or when the
    account's password changes; `code_attempts` counts wrong codes. `email` is the address
    the token is about: the one it verifies or changes to, or, on the "it was not me" link of
    an email change, the old address it gives back."""

    __tablename__ = "one_time_tokens"

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        BigIntegerKey, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    email: Mapped[str | None] = mapped_column(String(320), default=None)

    __table_args__ = (
        Index("ix_one_time_tokens_email_lower", func.lower(email)),
        {"sqlite_autoincrement": True},
    )


class OutboxMail(Base):
    """A mail to send, written in the same transaction as the change it tells of.

    `sealed` is the message (recipient, subject, bodies) encrypted with a key derived from
    SECRET_KEY, since it may carry a link that resets a password; it is emptied once sent.
    `next_attempt_at` is also the lease: a sender takes a mail by moving it forward."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    __table_args__ = (
        Index("ix_mail_outbox_pending", "sent_at", "failed_at", "next_attempt_at"),
        {"sqlite_autoincrement": True},
    )
