"""Domain error types, one per error code of the contract.

They carry a stable `code` and a sentence for humans, and know nothing of HTTP: the single
mapping to status codes lives in `login_custom_exception_handling`.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base class of every error the service layer raises on purpose."""

    code: str = "SERVICE_ERROR"
    default_detail: str = "The request could not be completed."

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.default_detail
        super().__init__(self.detail)


class NotAuthenticatedError(ServiceError):
    code = "NOT_AUTHENTICATED"
    default_detail = "Not authenticated: send an Authorization: Bearer <token> header."


class InvalidTokenError(ServiceError):
    code = "INVALID_TOKEN"
    default_detail = "The access token is invalid or has expired."


class InvalidCredentialsError(ServiceError):
    code = "INVALID_CREDENTIALS"
    default_detail = "Incorrect username or password."


class AccountDisabledError(ServiceError):
    code = "ACCOUNT_DISABLED"
    default_detail = "This account is disabled."


class EmailNotVerifiedError(ServiceError):
    """REQUIRE_VERIFIED_EMAIL: the right password, for an account whose address is unproven."""

    code = "EMAIL_NOT_VERIFIED"
    default_detail = (
        "Confirm your email address first: follow the link we mailed you, or ask for a new "
        "one at /email/verify/resend."
    )


class InvalidCurrentPasswordError(ServiceError):
    code = "INVALID_CURRENT_PASSWORD"
    default_detail = "The current password is incorrect."


class ForbiddenError(ServiceError):
    code = "FORBIDDEN"
    default_detail = "You are not allowed to do this."


class UserNotFoundError(ServiceError):
    code = "USER_NOT_FOUND"
    default_detail = "No user with this id."


class UsernameTakenError(ServiceError):
    code = "USERNAME_TAKEN"
    default_detail = "This username is already registered."


class EmailTakenError(ServiceError):
    code = "EMAIL_TAKEN"
    default_detail = "This email address is already registered."


class LastAdminError(ServiceError):
    code = "LAST_ADMIN"
    default_detail = "This is the last active admin; promote another admin first."


class WeakPasswordError(ServiceError):
    code = "WEAK_PASSWORD"
    default_detail = "This password is too common or too close to the username or email."


class RequestRejectedError(ServiceError):
    """A rule about the request body that only the service can check (it needs settings or
    the stored account). Rendered like FastAPI's own validation errors: a list in `detail`.
    """

    code = "VALIDATION_ERROR"
    error_type = "value_error"
    location: tuple[str, ...] = ("body",)

    def as_error_list(self) -> list[dict[str, object]]:
        return [{"loc": list(self.location), "msg": self.detail, "type": self.error_type}]


class NothingToChangeError(RequestRejectedError):
    error_type = "nothing_to_change"
    default_detail = "The request names nothing to change."


class CurrentPasswordRequiredError(RequestRejectedError):
    error_type = "missing"
    location = ("body", "current_password")
    default_detail = "current_password is required to change the email or the password."


class PasswordTooShortError(RequestRejectedError):
    error_type = "string_too_short"

    def __init__(self, minimum: int, field: str = "password") -> None:
        self.location = ("body", field)
        super().__init__(f"String should have at least {minimum} characters")


class ServiceUnavailableError(ServiceError):
    code = "SERVICE_UNAVAILABLE"
    default_detail = "The service is temporarily unavailable; try again shortly."


class InvalidRefreshTokenError(ServiceError):
    code = "INVALID_REFRESH_TOKEN"
    default_detail = "The refresh token is invalid, expired or ended."


class RefreshTokenReusedError(ServiceError):
    code = "REFRESH_TOKEN_REUSED"
    default_detail = "This refresh token was already used; the session has been ended."


class SessionNotFoundError(ServiceError):
    code = "SESSION_NOT_FOUND"
    default_detail = "No such session."


class MfaRequiredError(ServiceError):
    """A change that needs a fresh second factor came without one (step-up)."""

    code = "MFA_REQUIRED"
    default_detail = "Two-factor sign-in is on: send a current code (or a recovery code) in `code`."


class InvalidMfaCodeError(ServiceError):
    """A wrong, spent or replayed code from a signed-in caller (step-up, confirmation)."""

    code = "INVALID_MFA_CODE"
    default_detail = "The two-factor code is wrong or was already used."


class InvalidMfaSignInCodeError(ServiceError):
    """A wrong, spent or replayed code at the second step of a sign-in (401, like a wrong
    password)."""

    code = "INVALID_MFA_CODE"
    default_detail = "The two-factor code is wrong or was already used."


class InvalidMfaTokenError(ServiceError):
    code = "INVALID_MFA_TOKEN"
    default_detail = "The mfa_token is invalid, expired or already used; sign in again."


class MfaAlreadyEnabledError(ServiceError):
    code = "MFA_ALREADY_ENABLED"
    default_detail = "Two-factor sign-in is already on for this account."


class MfaNotEnabledError(ServiceError):
    code = "MFA_NOT_ENABLED"
    default_detail = "Two-factor sign-in is not on for this account."


class MfaEnrollmentNotStartedError(ServiceError):
    code = "MFA_ENROLLMENT_NOT_STARTED"
    default_detail = "No enrollment is waiting for confirmation; call /mfa/totp/enroll first."


class TooManyRequestsError(ServiceError):
    """A rate limit is exhausted; `retry_after` is how many seconds until it lets through."""

    code = "TOO_MANY_REQUESTS"
    default_detail = "Too many attempts; try again later."

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(detail)


class InvalidResetTokenError(ServiceError):
    code = "INVALID_RESET_TOKEN"
    default_detail = "This reset link is invalid, expired or already used; ask for a new one."


class InvalidResetCodeError(ServiceError):
    code = "INVALID_RESET_CODE"
    default_detail = "This code is wrong, expired or used up; ask for a new one."


class MfaSecretUnreadableError(ServiceError):
    """No configured key decrypts the account's stored TOTP secret (a key was removed from
    MFA_ENCRYPTION_OLD_KEYS too early): an admin reset lets the account enroll again."""

    code = "MFA_SECRET_UNREADABLE"
    default_detail = (
        "This account's second factor cannot be read with the configured keys; "
        "an administrator can reset it."
    )


class InvalidNoticeTokenError(ServiceError):
    code = "INVALID_NOTICE_TOKEN"
    default_detail = "This link is invalid, expired or already used."


class InvalidVerifyTokenError(ServiceError):
    code = "INVALID_VERIFY_TOKEN"
    default_detail = "This link is invalid, expired or already used; ask for a new one."


class InvalidVerifyCodeError(ServiceError):
    code = "INVALID_VERIFY_CODE"
    default_detail = "This code is wrong, expired or used up; ask for a new one."


class SigningKeyUnavailableError(ServiceUnavailableError):
    """No key may sign right now (all revoked, or the key store unreadable)."""

    default_detail = "No signing key is available; try again shortly."


class SigningKeyNotFoundError(ServiceError):
    code = "KEY_NOT_FOUND"
    default_detail = "No signing key with this kid."


class KeysNotManagedError(ServiceError):
    code = "KEYS_NOT_MANAGED"
    default_detail = (
        "Signing keys are not rotated here: JWT_ALGORITHM is an HMAC algorithm, or the key "
        "comes from JWT_PRIVATE_KEY_FILE."
    )


class InvalidClientError(ServiceError):
    code = "INVALID_CLIENT"
    default_detail = "Client authentication failed."
