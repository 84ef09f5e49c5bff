"""What the controllers may ask of the second-factor service: TOTP enrollment, its
confirmation and removal, recovery codes, and the second step of a sign-in."""

from __future__ import annotations

import abc

from B_EntityPackage.domain import ClientInfo
from C_SchemaPackage.response import (
    MfaEnrollmentOut,
    MfaStatusOut,
    MfaTokenOut,
    RecoveryCodesOut,
)
from E_SecurityPackage.access_context import CurrentAccess


class MfaServiceInterface(abc.ABC):
    @abc.abstractmethod
    def status(self, user_id: int) -> MfaStatusOut: ...

    @abc.abstractmethod
    def enroll(self, access: CurrentAccess, password: str) -> MfaEnrollmentOut:
        """A new pending secret, after the password is checked again. Raises
        INVALID_CURRENT_PASSWORD, MFA_ALREADY_ENABLED."""

    @abc.abstractmethod
    def confirm(self, access: CurrentAccess, code: str) -> RecoveryCodesOut:
        """Turn the pending secret on with its first code; ends the account's other sessions.
        Raises INVALID_MFA_CODE, MFA_ENROLLMENT_NOT_STARTED, MFA_ALREADY_ENABLED."""

    @abc.abstractmethod
    def disable(self, access: CurrentAccess, code: str | None) -> None:
        """Turn TOTP off after a fresh code. Raises MFA_REQUIRED, INVALID_MFA_CODE,
        MFA_NOT_ENABLED."""

    @abc.abstractmethod
    def regenerate_recovery_codes(
        self, access: CurrentAccess, code: str | None
    ) -> RecoveryCodesOut:
        """New recovery codes after a fresh code; the old ones stop working."""

    @abc.abstractmethod
    def complete_sign_in(
        self, mfa_token: str, code: str | None, recovery_code: str | None, client: ClientInfo
    ) -> MfaTokenOut:
        """Spend the mfa token and a code; open the session. Raises INVALID_MFA_TOKEN,
        INVALID_MFA_CODE (401), TOO_MANY_REQUESTS."""
