"""The second factor: an account's TOTP secret (encrypted), its recovery codes (hashed) and
the pending two-step sign-ins (mfa tokens, hashed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from B_EntityPackage.login_entity_master import Base, BigIntegerKey, UTCDateTime


class MfaTotp(Base):
    """One per account. `enabled_at` is None while the enrollment waits for its first code;
    `last_used_step` is the last time step whose code was accepted (never accepted again)."""

    __tablename__ = "mfa_totp"

    user_id: Mapped[int] = mapped_column(
        BigIntegerKey, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key_id: Mapped[str] = mapped_column(String(32))
    secret_ciphertext: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_used_step: Mapped[int | None] = mapped_column(BigInteger, default=None)


class MfaRecoveryCode(Base):
    __tablename__ = "mfa_recovery_codes"

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        BigIntegerKey, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    __table_args__ = (
        Index("uq_mfa_recovery_codes_user_id_code_hash", "user_id", "code_hash", unique=True),
        {"sqlite_autoincrement": True},
    )


class MfaChallenge(Base):
    """A sign-in whose password was right and whose second factor is awaited: the mfa token,
    stored as its SHA-256, single-use, short-lived."""

    __tablename__ = "mfa_challenges"

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        BigIntegerKey, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    __table_args__ = ({"sqlite_autoincrement": True},)
