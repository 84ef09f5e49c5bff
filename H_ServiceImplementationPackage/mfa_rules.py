"""Checking a second-factor code, shared by sign-in, step-up and the MFA routes.

A TOTP code is accepted once: its time step is spent by a conditional UPDATE that only moves
the account's last accepted step forward, so a replay in the same window, or two concurrent
requests with the same code, find the step spent. A recovery code is spent the same way.
Wrong codes count as failed sign-ins of the account (E_SecurityPackage.login_throttle).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar, cast

from B_EntityPackage.domain import AuditEventType, ClientInfo
from C_SchemaPackage.response import MfaRequiredOut
from D_CustomExceptionPackage.errors import (
    InvalidMfaCodeError,
    MfaRequiredError,
    MfaSecretUnreadableError,
)
from E_SecurityPackage.login_throttle import LoginAttempt, LoginThrottle
from E_SecurityPackage.second_factor import (
    EncryptedSecret,
    SecretBox,
    SecretDecryptionError,
    hash_recovery_code,
    is_totp_code,
    matching_step,
)
from F_RepositoryPackage.mfa_repository import StoredTotp
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from H_ServiceImplementationPackage.audit_recorder import AuditRecorder
from H_ServiceImplementationPackage.password_recovery_tools import RecoveryTools
from H_ServiceImplementationPackage.security_notices import commit_failure

logger = logging.getLogger("auth_service.mfa")

MFA_TOKEN_BYTES = 32
MFA_TOKEN_LIFETIME = timedelta(minutes=5)


class CodeKind(StrEnum):
    """Which codes a request may present."""

    TOTP = "totp"
    RECOVERY = "recovery"
    EITHER = "either"


def hash_mfa_token(token: str) -> str:
    """mfa tokens carry 256 random bits, so a plain SHA-256 is a safe stored form."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_mfa_token() -> str:
    return secrets.token_urlsafe(MFA_TOKEN_BYTES)


def bound_to(user_id: int) -> str:
    """The associated data that ties a stored secret to its account."""
    return f"mfa-totp:user:{user_id}"


@dataclass(frozen=True)
class SecondFactorCheck:
    """Built once per application: the key ring of the stored secrets and the issuer name
    authenticator apps show."""

    box: SecretBox
    issuer: str

    def secret_of(self, uow: AbstractUnitOfWork, stored: StoredTotp) -> str:
        """The plain secret; one encrypted with an old key is re-encrypted with the current
        one, in the caller's transaction."""
        try:
            secret = self.box.decrypt(
                EncryptedSecret(stored.key_id, stored.secret_ciphertext), bound_to(stored.user_id)
            )
        except SecretDecryptionError as error:
            logger.error(
                "a stored TOTP secret does not decrypt with the configured MFA keys",
                extra={"user_id": stored.user_id, "key_id": stored.key_id},
            )
            raise MfaSecretUnreadableError() from error
        if stored.key_id != self.box.current_key_id:
            fresh = self.box.encrypt(secret, bound_to(stored.user_id))
            uow.mfa.reencrypt(stored.user_id, fresh.key_id, fresh.ciphertext)
        return secret

    def spend(
        self,
        uow: AbstractUnitOfWork,
        user_id: int,
        code: str,
        now: datetime,
        kind: CodeKind = CodeKind.EITHER,
    ) -> CodeKind | None:
        """Spend `code` of this account, in the caller's transaction: the kind of code it was,
        or None when it is wrong, already used, or the account has no second factor on."""
        if kind is not CodeKind.RECOVERY and is_totp_code(code):
            stored = uow.mfa.totp_of(user_id)
            if stored is None or not stored.enabled:
                return None
            step = matching_step(self.secret_of(uow, stored), code, now)
            if step is not None and uow.mfa.accept_step(user_id, step):
                return CodeKind.TOTP
            return None
        if (
            kind is not CodeKind.TOTP
            and uow.mfa.is_enabled(user_id)
            and uow.mfa.use_recovery_code(user_id, hash_recovery_code(code), now)
        ):
            return CodeKind.RECOVERY
        return None


@dataclass
class FailureCounter:
    """Counts a code (or password) check of an account as a sign-in attempt before the check
    is made (LoginThrottle.begin: TOO_MANY_REQUESTS when a failure window is full, and a burst
    cannot check more codes than the limits allow). `failed` keeps the attempt counted and
    commits the failure, with any lockout it causes, to the audit trail alone; `succeeded`
    clears the account-and-address counter; `release` gives back an attempt settled neither
    way, and belongs in a `finally` (see `releasing_attempts`)."""

    throttle: LoginThrottle
    audit: AuditRecorder
    client: ClientInfo
    notices: RecoveryTools | None = None
    pending: LoginAttempt | None = None

    def account_key(self, user_id: int) -> str:
        return self.throttle.account_key(user_id, "")

    def check(self, user_id: int) -> None:
        self.release()
        self.pending = self.throttle.begin(self.account_key(user_id), self.client.ip)

    def succeeded(self, user_id: int) -> None:
        if self.pending is not None:
            attempt, self.pending = self.pending, None
            attempt.succeeded()

    def release(self) -> None:
        if self.pending is not None:
            attempt, self.pending = self.pending, None
            attempt.abandon()

    def failed(
        self, uow: AbstractUnitOfWork, event: AuditEventType, user_id: int, code: str
    ) -> None:
        """In the open unit of work: roll back what it holds, commit only the failure rows."""
        filled = self.pending.failed() if self.pending is not None else []
        self.pending = None
        commit_failure(uow, self.audit, self.notices, event, user_id, code, filled)


Method = TypeVar("Method", bound=Callable[..., Any])


def releasing_attempts(method: Method) -> Method:
    """For a service method that counts attempts with `self.failures`: give back, whatever
    happens, an attempt it counted but did not settle."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            failures: FailureCounter = self.failures
            failures.release()

    return cast(Method, wrapper)


def start_pending_sign_in(
    uow: AbstractUnitOfWork, user_id: int, token_version: int, now: datetime
) -> MfaRequiredOut:
    """A right password of an account with a second factor: an mfa token, stored hashed,
    for POST /login/mfa. Committed here."""
    token = new_mfa_token()
    with uow:
        uow.mfa.add_pending_sign_in(
            hash_mfa_token(token), user_id, token_version, now, now + MFA_TOKEN_LIFETIME
        )
        uow.commit()
    return MfaRequiredOut(mfa_token=token, expires_in=int(MFA_TOKEN_LIFETIME.total_seconds()))


def step_up(
    uow: AbstractUnitOfWork,
    second_factor: SecondFactorCheck | None,
    failures: FailureCounter,
    event: AuditEventType,
    user_id: int,
    code: str | None,
    now: datetime,
) -> None:
    """In the open unit of work of an account with TOTP on: MFA_REQUIRED without a code;
    the code spent; or INVALID_MFA_CODE, counted as a failed sign-in (with `event` audited).
    Without `second_factor` (no key ring) no code passes."""
    if code is None:
        raise MfaRequiredError()
    failures.check(user_id)
    if second_factor is None or second_factor.spend(uow, user_id, code, now) is None:
        failures.failed(uow, event, user_id, InvalidMfaCodeError.code)
        raise InvalidMfaCodeError()
