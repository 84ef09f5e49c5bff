"""Request bodies. Bodies a user sends about themselves forbid unknown fields."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from C_SchemaPackage.fields import (
    Email,
    FullName,
    MfaCode,
    MfaTokenValue,
    OAuthFormText,
    Password,
    RefreshTokenValue,
    SignInName,
    Username,
)


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    def provided_changes(self) -> dict[str, Any]:
        """The fields the client actually sent, with their values."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class RegisterRequest(StrictBody):
    username: Username
    email: Email
    password: Password
    full_name: FullName | None = None


class LoginRequest(StrictBody):
    """JSON sign-in; the OAuth2 form on /login carries the same two fields."""

    username: SignInName
    password: Password


class LoginForm(LoginRequest):
    """The OAuth2 password-flow form (RFC 6749 4.3); client fields are accepted and ignored."""

    grant_type: Literal["password"] | None = None
    scope: OAuthFormText = ""
    client_id: OAuthFormText | None = None
    client_secret: OAuthFormText | None = None


def _reject_explicit_nulls(body: BaseModel, non_nullable: tuple[str, ...]) -> None:
    for name in non_nullable:
        if name in body.model_fields_set and getattr(body, name) is None:
            raise ValueError(f"{name} cannot be null")


class UpdateSelfRequest(StrictBody):
    username: Username | None = None
    email: Email | None = None
    full_name: FullName | None = None
    new_password: Password | None = None
    current_password: Password | None = None
    code: MfaCode | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> UpdateSelfRequest:
        _reject_explicit_nulls(
            self, ("username", "email", "new_password", "current_password", "code")
        )
        return self


class RefreshRequest(StrictBody):
    refresh_token: RefreshTokenValue


class LogoutRequest(StrictBody):
    refresh_token: RefreshTokenValue | None = None


class DeleteSelfRequest(StrictBody):
    password: Password


class MfaEnrollRequest(StrictBody):
    password: Password


class MfaCodeRequest(StrictBody):
    """The first TOTP code of an enrollment."""

    code: MfaCode


class StepUpRequest(StrictBody):
    """A fresh TOTP or recovery code; without one the service answers MFA_REQUIRED."""

    code: MfaCode | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> StepUpRequest:
        _reject_explicit_nulls(self, ("code",))
        return self


class LoginMfaRequest(StrictBody):
    """The second step of a sign-in: the mfa_token and exactly one of the two codes."""

    mfa_token: MfaTokenValue
    code: MfaCode | None = None
    recovery_code: MfaCode | None = None

    @model_validator(mode="after")
    def _exactly_one_code(self) -> LoginMfaRequest:
        if (self.code is None) == (self.recovery_code is None):
            raise ValueError("send exactly one of code and recovery_code")
        return self


class AdminUpdateRequest(StrictBody):
    username: Username | None = None
    email: Email | None = None
    full_name: FullName | None = None
    role: Literal["user", "admin"] | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> AdminUpdateRequest:
        _reject_explicit_nulls(self, ("username", "email", "role", "is_active"))
        return self
