"""Sign-in sessions: a session is one refresh-token family (one device or browser)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from B_EntityPackage.domain import IP_MAX_LENGTH, USER_AGENT_MAX_LENGTH
from B_EntityPackage.login_entity_master import Base, BigIntegerKey, UTCDateTime


class AuthSession(Base):
    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        BigIntegerKey, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX_LENGTH), default=None)
    ip: Mapped[str | None] = mapped_column(String(IP_MAX_LENGTH), default=None)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # How the sign-in was authenticated (RFC 8176 `amr` values, space-separated): its tokens,
    # refreshed ones included, carry them.
    amr: Mapped[str] = mapped_column(String(32), default="pwd", server_default="pwd")

    __table_args__ = ({"sqlite_autoincrement": True},)


class RefreshToken(Base):
    """One refresh token of a session, stored only as its SHA-256. `spent_at` marks rotation."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(BigIntegerKey, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(
        BigIntegerKey, ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    spent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class SessionAccessToken(Base):
    """The access tokens a session issued, so ending the session can end each one by jti."""

    __tablename__ = "session_access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[int] = mapped_column(
        BigIntegerKey, ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class RevokedAccessToken(Base):
    """Ended access tokens, remembered until they would have expired (without REDIS_URL)."""

    __tablename__ = "revoked_access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_revoked_access_tokens_expires_at", "expires_at"),)
