"""Reusable constrained field types for request bodies.

Every string refuses U+0000 (PostgreSQL cannot store it and would answer with a 500), and
lengths are bounded before any hashing or SQL happens.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, EmailStr, Field, StringConstraints

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$"
PASSWORD_MAX_LENGTH = 128
EMAIL_MAX_LENGTH = 320
FULL_NAME_MAX_LENGTH = 100
MAX_DATABASE_INTEGER = 2**63 - 1


def reject_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain the NUL character (U+0000)")
    return value


def lower_case_email_domain(value: str) -> str:
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


OAuthFormText = Annotated[str, AfterValidator(reject_nul), Field(max_length=1024)]
"""The OAuth2 form's client fields, accepted and ignored: still no U+0000, and bounded."""

Username = Annotated[
    str,
    StringConstraints(pattern=USERNAME_PATTERN, min_length=3, max_length=32),
    Field(
        description="3 to 32 characters of A-Z a-z 0-9 _ . -, starting with a letter or digit",
        examples=["alice"],
    ),
]
Email = Annotated[
    EmailStr,
    AfterValidator(reject_nul),
    AfterValidator(lower_case_email_domain),
    Field(max_length=EMAIL_MAX_LENGTH, examples=["alice@example.com"]),
]
Password = Annotated[
    str,
    StringConstraints(min_length=1, max_length=PASSWORD_MAX_LENGTH),
    AfterValidator(reject_nul),
    Field(
        description=(
            "PASSWORD_MIN_LENGTH (default 12) to 128 characters; common passwords and ones "
            "equal to the username or email are refused"
        ),
        examples=["correct horse battery staple"],
    ),
]
FullName = Annotated[
    str,
    StringConstraints(max_length=FULL_NAME_MAX_LENGTH),
    AfterValidator(reject_nul),
    Field(examples=["Alice Liddell"]),
]
SignInName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=EMAIL_MAX_LENGTH),
    AfterValidator(reject_nul),
    Field(description="The username or the email address", examples=["alice"]),
]
MfaCode = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(reject_nul),
    Field(
        description="A 6-digit code from the authenticator app, or a recovery code",
        examples=["123456"],
    ),
]
MfaTokenValue = Annotated[
    str,
    StringConstraints(min_length=1, max_length=256),
    AfterValidator(reject_nul),
    Field(description="The mfa_token /login returned"),
]
RefreshTokenValue = Annotated[
    str,
    StringConstraints(min_length=1, max_length=256),
    AfterValidator(reject_nul),
    Field(description="The opaque refresh token /login or /token/refresh returned"),
]
