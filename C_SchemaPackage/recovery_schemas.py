"""Request and response bodies of password recovery."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from C_SchemaPackage.fields import Email, Password, reject_nul
from C_SchemaPackage.request import StrictBody

ResetToken = Annotated[
    str,
    StringConstraints(min_length=1, max_length=256),
    AfterValidator(reject_nul),
    Field(description="The token of the mailed link (the `token` query parameter)"),
]
ResetCode = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{8}$"),
    Field(description="The 8-digit code of the mail", examples=["01234567"]),
]


class ForgotPasswordRequest(StrictBody):
    email: Email


class ResetPasswordRequest(StrictBody):
    """Either the link's `token`, or the account's `email` with the mailed `code`."""

    new_password: Password
    token: ResetToken | None = None
    email: Email | None = None
    code: ResetCode | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        by_token = self.token is not None
        by_code = self.email is not None or self.code is not None
        if by_token == by_code or (by_code and (self.email is None or self.code is None)):
            raise ValueError("send either token, or email and code")
        return self


class NotMeRequest(StrictBody):
    """The token of a security notice's "it was not me" link."""

    token: ResetToken


class AcceptedOut(BaseModel):
    detail: str
