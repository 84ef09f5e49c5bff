"""Request and response bodies of password recovery."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from C_SchemaPackage.fields import Email, Password, reject_nul
from C_SchemaPackage.request import StrictBody

MailedToken = Annotated[
    str,
    StringConstraints(min_length=1, max_length=256),
    AfterValidator(reject_nul),
    Field(description="The token of the mailed link (the `token` query parameter)"),
]
MailedCode = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{8}$"),
    Field(description="The 8-digit code of the mail", examples=["01234567"]),
]


def require_token_or_email_and_code(token: str | None, email: str | None, code: str | None) -> None:
    """A mailed secret comes as the link's token, or as the address with the code."""
    by_token = token is not None
    by_code = email is not None or code is not None
    if by_token == by_code or (by_code and (email is None or code is None)):
        raise ValueError("send either token, or email and code")


class MailRequest(StrictBody):
    """A request for a mail to an address (answered alike whether an account uses it)."""

    email: Email


class ForgotPasswordRequest(MailRequest):
    pass


class ResetPasswordRequest(StrictBody):
    """Either the link's `token`, or the account's `email` with the mailed `code`."""

    new_password: Password
    token: MailedToken | None = None
    email: Email | None = None
    code: MailedCode | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        require_token_or_email_and_code(self.token, self.email, self.code)
        return self


class NotMeRequest(StrictBody):
    """The token of a security notice's "it was not me" link."""

    token: MailedToken


class AcceptedOut(BaseModel):
    detail: str
