"""Request and response bodies of email verification (and of confirming a new address)."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, model_validator

from C_SchemaPackage.fields import Email
from C_SchemaPackage.recovery_schemas import (
    MailedCode,
    MailedToken,
    MailRequest,
    require_token_or_email_and_code,
)
from C_SchemaPackage.request import StrictBody


class VerifyEmailRequest(StrictBody):
    """Either the link's `token`, or the address the mail went to with the mailed `code`
    (for an email change, that is the new address)."""

    token: MailedToken | None = None
    email: Email | None = None
    code: MailedCode | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        require_token_or_email_and_code(self.token, self.email, self.code)
        return self


class ResendVerificationRequest(MailRequest):
    pass


class EmailVerifiedOut(BaseModel):
    """The account's address, now proven (after an email change: the new address)."""

    email: str
    email_verified: Literal[True] = True
