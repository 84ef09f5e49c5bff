"""The second factor: TOTP enrollment and confirmation, turning it off, recovery codes, and
the second step of a sign-in.

Every code is checked and spent inside the transaction that acts on it (mfa_rules), so a
code is never accepted twice. Wrong codes and passwords count as failed sign-ins of the
account, and their audit rows are committed alone, as the account service does.
"""

from __future__ import annotations

from datetime import datetime

from B_EntityPackage.domain import NO_CLIENT, AuditEventType, ClientInfo, Clock
from B_EntityPackage.login_entity_master import User
from C_SchemaPackage.response import (
    MfaEnrollmentOut,
    MfaStatusOut,
    MfaTokenOut,
    RecoveryCodesOut,
    UserOut,
)
from D_CustomExceptionPackage.errors import (
    InvalidCurrentPasswordError,
    InvalidMfaCodeError,
    InvalidMfaSignInCodeError,
    InvalidMfaTokenError,
    InvalidTokenError,
    MfaAlreadyEnabledError,
    MfaEnrollmentNotStartedError,
    MfaNotEnabledError,
)
from E_SecurityPackage.access_context import CurrentAccess
from E_SecurityPackage.login_throttle import DisabledLoginThrottle, LoginThrottle
from E_SecurityPackage.password_hashing import PasswordHasher
from E_SecurityPackage.second_factor import (
    hash_recovery_code,
    is_totp_code,
    matching_step,
    new_recovery_codes,
    new_totp_secret,
    provisioning_uri,
    qr_svg,
)
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from G_ServiceFunctionPackage.mfa_service_function import MfaServiceInterface
from G_ServiceFunctionPackage.session_service_function import SessionServiceInterface
from H_ServiceImplementationPackage.audit_recorder import AuditRecorder
from H_ServiceImplementationPackage.mfa_rules import (
    CodeKind,
    FailureCounter,
    SecondFactorCheck,
    bound_to,
    hash_mfa_token,
    releasing_attempts,
    step_up,
)
from H_ServiceImplementationPackage.password_recovery_tools import RecoveryTools

SECOND_FACTOR_AMR = ("pwd", "otp")


class MfaService(MfaServiceInterface):
    def __init__(
        self,
        uow: AbstractUnitOfWork,
        hasher: PasswordHasher,
        sessions: SessionServiceInterface,
        clock: Clock,
        check: SecondFactorCheck,
        *,
        throttle: LoginThrottle | None = None,
        audit: AuditRecorder | None = None,
        client: ClientInfo = NO_CLIENT,
        notices: RecoveryTools | None = None,
    ) -> None:
        """`notices`: the lockout notice a failed check may mail."""
        self.uow = uow
        self.hasher = hasher
        self.sessions = sessions
        self.clock = clock
        self.check = check
        self.audit = audit or AuditRecorder(clock, client)
        self.failures = FailureCounter(
            throttle or DisabledLoginThrottle(), self.audit, client, notices
        )

    def status(self, user_id: int) -> MfaStatusOut:
        with self.uow:
            return MfaStatusOut(
                enabled=self.uow.mfa.is_enabled(user_id),
                recovery_codes_remaining=self.uow.mfa.recovery_codes_remaining(user_id),
            )

    @releasing_attempts
    def enroll(self, access: CurrentAccess, password: str) -> MfaEnrollmentOut:
        user_id = access.user.id
        self.failures.check(user_id)
        with self.uow:
            user = self._user(user_id)
            if self.uow.mfa.is_enabled(user_id):
                raise MfaAlreadyEnabledError()
            matches, _ = self.hasher.verify(password, user.hashed_password)
            if not matches:
                self.failures.failed(
                    self.uow, AuditEventType.MFA_ENROLL, user_id, InvalidCurrentPasswordError.code
                )
                raise InvalidCurrentPasswordError()
            secret = new_totp_secret()
            sealed = self.check.box.encrypt(secret, bound_to(user_id))
            self.uow.mfa.start_enrollment(user_id, sealed.key_id, sealed.ciphertext, self._now())
            self.audit.add(self.uow, AuditEventType.MFA_ENROLL, user_id)
            self.uow.commit()
            account_name = user.username
        self.failures.succeeded(user_id)
        uri = provisioning_uri(secret, account_name, self.check.issuer)
        return MfaEnrollmentOut(secret=secret, otpauth_uri=uri, qr_svg=qr_svg(uri))

    @releasing_attempts
    def confirm(self, access: CurrentAccess, code: str) -> RecoveryCodesOut:
        """The first code turns the secret on (its step spent); the other sessions end, so a
        thief's session does not outlive the new factor."""
        user_id = access.user.id
        self.failures.check(user_id)
        now = self._now()
        with self.uow:
            stored = self.uow.mfa.totp_of(user_id)
            if stored is None:
                raise MfaEnrollmentNotStartedError()
            if stored.enabled:
                raise MfaAlreadyEnabledError()
            step = (
                matching_step(self.check.secret_of(self.uow, stored), code, now)
                if is_totp_code(code)
                else None
            )
            if step is None or not self.uow.mfa.enable(user_id, step, now):
                self.failures.failed(
                    self.uow, AuditEventType.MFA_ENABLE, user_id, InvalidMfaCodeError.code
                )
                raise InvalidMfaCodeError()
            codes = self._new_recovery_codes(user_id)
            others = [
                session_id
                for session_id in self.uow.sessions.live_ids_of_user(user_id, now)
                if session_id != access.claims.session_id
            ]
            if others:
                self.uow.denied_tokens.deny(self.uow.sessions.end_ids(others, now))
            self.audit.add(self.uow, AuditEventType.MFA_ENABLE, user_id)
            self.uow.commit()
        self.failures.succeeded(user_id)
        return RecoveryCodesOut(recovery_codes=codes)

    @releasing_attempts
    def disable(self, access: CurrentAccess, code: str | None) -> None:
        user_id = access.user.id
        with self.uow:
            self._step_up(user_id, code, AuditEventType.MFA_DISABLE)
            self.uow.mfa.remove(user_id)
            self.audit.add(self.uow, AuditEventType.MFA_DISABLE, user_id)
            self.uow.commit()
        self.failures.succeeded(user_id)

    @releasing_attempts
    def regenerate_recovery_codes(
        self, access: CurrentAccess, code: str | None
    ) -> RecoveryCodesOut:
        user_id = access.user.id
        with self.uow:
            self._step_up(user_id, code, AuditEventType.MFA_RECOVERY_CODES)
            codes = self._new_recovery_codes(user_id)
            self.audit.add(self.uow, AuditEventType.MFA_RECOVERY_CODES, user_id)
            self.uow.commit()
        self.failures.succeeded(user_id)
        return RecoveryCodesOut(recovery_codes=codes)

    @releasing_attempts
    def complete_sign_in(
        self, mfa_token: str, code: str | None, recovery_code: str | None, client: ClientInfo
    ) -> MfaTokenOut:
        """The mfa token stays usable after a wrong code (until it expires, and within the
        failure limits); the right code spends both, in one transaction."""
        token_hash = hash_mfa_token(mfa_token)
        now = self._now()
        with self.uow:
            pending = self.uow.mfa.pending_sign_in(token_hash, now)
        if pending is None:
            raise InvalidMfaTokenError()
        user_id = pending.user_id
        self.failures.check(user_id)
        kind = CodeKind.TOTP if code is not None else CodeKind.RECOVERY
        presented = code if code is not None else recovery_code
        with self.uow:
            used = self.check.spend(self.uow, user_id, presented or "", now, kind)
            if used is None:
                self.failures.failed(
                    self.uow, AuditEventType.MFA_SIGN_IN, user_id, InvalidMfaSignInCodeError.code
                )
                raise InvalidMfaSignInCodeError()
            if not self.uow.mfa.spend_pending_sign_in(token_hash, now):
                raise InvalidMfaTokenError()
            account = self.uow.users.account_view(user_id)
            if (
                account is None
                or not account.is_active
                or account.token_version != pending.token_version
            ):  # deleted, disabled, or its tokens ended since the password step
                raise InvalidMfaTokenError()
            remaining = self.uow.mfa.recovery_codes_remaining(user_id)
            detail = "RECOVERY_CODE" if used is CodeKind.RECOVERY else None
            self.audit.add(self.uow, AuditEventType.MFA_SIGN_IN, user_id, detail=detail)
            self.uow.commit()
        self.failures.succeeded(user_id)
        pair = self.sessions.start(
            UserOut.model_validate(account), pending.token_version, client, SECOND_FACTOR_AMR
        )
        return MfaTokenOut(**pair.model_dump(), recovery_codes_remaining=remaining)

    def _step_up(self, user_id: int, code: str | None, event: AuditEventType) -> None:
        """In the open unit of work: MFA_NOT_ENABLED, MFA_REQUIRED without a code, or the code
        spent, or INVALID_MFA_CODE (counted as a failed sign-in)."""
        if not self.uow.mfa.is_enabled(user_id):
            raise MfaNotEnabledError()
        step_up(self.uow, self.check, self.failures, event, user_id, code, self._now())

    def _new_recovery_codes(self, user_id: int) -> list[str]:
        codes = new_recovery_codes()
        self.uow.mfa.replace_recovery_codes(
            user_id, [hash_recovery_code(code) for code in codes], self._now()
        )
        return codes

    def _user(self, user_id: int) -> User:
        user = self.uow.users.get(user_id)
        if user is None:
            raise InvalidTokenError()
        return user

    def _now(self) -> datetime:
        return self.clock.now()
