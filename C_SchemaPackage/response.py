"""Response bodies, as ../shared/CONTRACT.md names them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    email: str
    full_name: str | None
    role: Literal["user", "admin"]
    is_active: bool
    created_at: datetime
    updated_at: datetime
    email_verified: bool


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the RFC 6750 scheme name)
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class MfaRequiredOut(BaseModel):
    """/login's answer when the account has a second factor: no token yet, an mfa_token for
    POST /login/mfa (single-use, `expires_in` seconds; it is not an access token)."""

    mfa_required: Literal[True] = True
    mfa_token: str
    expires_in: int


class MfaTokenOut(TokenOut):
    """TokenOut, and how many unused recovery codes the account has left."""

    recovery_codes_remaining: int


class MfaEnrollmentOut(BaseModel):
    secret: str
    otpauth_uri: str
    qr_svg: str


class RecoveryCodesOut(BaseModel):
    """Shown once: only their hashes are kept."""

    recovery_codes: list[str]


class MfaStatusOut(BaseModel):
    enabled: bool
    recovery_codes_remaining: int


class SessionOut(BaseModel):
    id: int
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    ip: str | None
    current: bool


class UserPage(BaseModel):
    items: list[UserOut]
    total: int
    offset: int
    limit: int


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"


class ErrorOut(BaseModel):
    detail: str
    code: str


class ValidationErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    """422: a list of problems (VALIDATION_ERROR), or one sentence (WEAK_PASSWORD)."""

    detail: list[ValidationErrorItem] | str
    code: str

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "detail": [
                    {
                        "loc": ["body", "email"],
                        "msg": "value is not a valid email address",
                        "type": "value_error",
                    }
                ],
                "code": "VALIDATION_ERROR",
            }
        }
    )


class ReadyOut(BaseModel):
    """200 of GET /readyz: each dependency checked, by name (`database`, `redis`)."""

    status: Literal["ok"] = "ok"
    checks: dict[str, Literal["ok", "unavailable"]]


class NotReadyOut(BaseModel):
    """503 of GET /readyz: the usual error body, plus the state of each dependency."""

    detail: str
    code: Literal["SERVICE_UNAVAILABLE"] = "SERVICE_UNAVAILABLE"
    status: Literal["unavailable"] = "unavailable"
    checks: dict[str, Literal["ok", "unavailable"]]
