"""Proving an account's email address: the verification of a new account's address, and the
confirmation that makes an email change take effect."""

from __future__ import annotations

import abc

from C_SchemaPackage.email_schemas import EmailVerifiedOut


class EmailAddressServiceInterface(abc.ABC):
    @abc.abstractmethod
    def admit_verification_request(self, email: str) -> None:
        """Count a request for a new verification mail against its limits (per client address
        and per address asked for), or raise TOO_MANY_REQUESTS. Says nothing about whether
        the account exists."""

    @abc.abstractmethod
    def request_verification(self, email: str) -> None:
        """If an active account with an unproven address uses this one: replace its
        verification link with a new one and put the mail in the outbox. Does nothing, and
        says nothing, otherwise."""

    @abc.abstractmethod
    def verify_with_token(self, token: str) -> EmailVerifiedOut:
        """Prove the address through the mailed link (INVALID_VERIFY_TOKEN); for an email
        change, the new address replaces the old (EMAIL_TAKEN if another account took it)."""

    @abc.abstractmethod
    def verify_with_code(self, email: str, code: str) -> EmailVerifiedOut:
        """As verify_with_token, with the address the mail went to and its code
        (INVALID_VERIFY_CODE); a wrong code counts as a failed sign-in of the account, and a
        mail's code allows MAX_CODE_ATTEMPTS."""
