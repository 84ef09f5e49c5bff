"""Password recovery: a mailed link and code that let the account's owner choose a new
password, and end everything that was signed in with the old one."""

from __future__ import annotations

import abc


class PasswordRecoveryServiceInterface(abc.ABC):
    @abc.abstractmethod
    def admit_reset_request(self, email: str) -> None:
        """Count the request against its limits (per address and per account), or raise
        TOO_MANY_REQUESTS. Says nothing about whether the account exists."""

    @abc.abstractmethod
    def request_reset(self, email: str) -> None:
        """If an active account uses this address: replace its reset token with a new one and
        put the mail in the outbox. Does nothing, and says nothing, otherwise."""

    @abc.abstractmethod
    def reset_with_token(self, token: str, new_password: str) -> None:
        """Set the new password through the mailed link's token (INVALID_RESET_TOKEN)."""

    @abc.abstractmethod
    def reset_with_code(self, email: str, code: str, new_password: str) -> None:
        """Set the new password through the mailed code (INVALID_RESET_CODE); a wrong code
        counts as a failed sign-in of the account, and a token allows MAX_CODE_ATTEMPTS."""

    @abc.abstractmethod
    def not_me(self, token: str) -> None:
        """A security notice's "it was not me" link: end every session and token of the
        account, which cancels a pending email change; the link of an email change notice
        also gives the old address back if the change was confirmed meanwhile
        (INVALID_NOTICE_TOKEN when unknown, expired or used)."""
