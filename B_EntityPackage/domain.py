"""The small domain vocabulary shared by entities, schemas and services: roles, audit event
kinds, the caller's client details and the injectable clock."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

USER_AGENT_MAX_LENGTH = 255
IP_MAX_LENGTH = 45


class Role(enum.StrEnum):
    USER = "user"
    ADMIN = "admin"


class AuditEventType(enum.StrEnum):
    REGISTER = "register"
    LOGIN = "login"
    LOCKOUT = "lockout"
    CREDENTIALS_CHECK = "credentials_check"
    REFRESH_REUSE = "refresh_reuse"
    LOGOUT = "logout"
    LOGOUT_ALL = "logout_all"
    SESSION_END = "session_end"
    PASSWORD_CHANGE = "password_change"  # noqa: S105 (an event name)
    EMAIL_CHANGE = "email_change"
    USERNAME_CHANGE = "username_change"
    ACCOUNT_UPDATE = "account_update"  # a refused PUT /update that changed no password or email
    ACCOUNT_DELETE = "account_delete"
    ROLE_CHANGE = "role_change"
    ACCOUNT_DISABLE = "account_disable"
    ACCOUNT_ENABLE = "account_enable"
    PASSWORD_RESET_REQUEST = "password_reset_request"  # noqa: S105 (an event name)
    PASSWORD_RESET = "password_reset"  # noqa: S105 (an event name)
    NOT_ME = "not_me"  # the "it was not me" link of a security notice was used
    EMAIL_VERIFY_REQUEST = "email_verify_request"  # a verification mail was sent
    EMAIL_VERIFY = "email_verify"  # the account's address was proven
    EMAIL_CHANGE_REQUEST = "email_change_request"  # detail: none (the new address is mailed)
    EMAIL_RESTORE = "email_restore"  # "it was not me" gave the old address back
    LOCKOUT_NOTICE = "lockout_notice"  # the owner was mailed about a lockout
    MFA_ENROLL = "mfa_enroll"
    MFA_ENABLE = "mfa_enable"
    MFA_DISABLE = "mfa_disable"
    MFA_SIGN_IN = "mfa_sign_in"
    MFA_RECOVERY_CODES = "mfa_recovery_codes"
    MFA_RESET = "mfa_reset"
    KEY_ROTATE = "key_rotate"  # detail: the new key's kid
    KEY_REVOKE = "key_revoke"  # detail: the revoked key's kid


class AuditOutcome(enum.StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"


def clip(value: str | None, limit: int) -> str | None:
    """`value` cut to the column's `limit`; None for an empty or missing value."""
    return value[:limit] if value else None


@dataclass(frozen=True)
class ClientInfo:
    """The caller's address and user agent, clipped to what the database columns hold."""

    ip: str | None
    user_agent: str | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "ip", clip(self.ip, IP_MAX_LENGTH))
        object.__setattr__(self, "user_agent", clip(self.user_agent, USER_AGENT_MAX_LENGTH))


NO_CLIENT = ClientInfo(ip=None, user_agent=None)


class Clock(Protocol):
    """An injectable time source, so expiry rules can be tested without sleeping."""

    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
