"""What the controllers may ask of the account service: sign-up, sign-in, the caller's own
account. Implementations live in H_ServiceImplementationPackage; controllers see only this."""

from __future__ import annotations

import abc

from B_EntityPackage.domain import ClientInfo
from C_SchemaPackage.request import RegisterRequest, UpdateSelfRequest
from C_SchemaPackage.response import MfaRequiredOut, TokenOut, UserOut


class AuthServiceInterface(abc.ABC):
    @abc.abstractmethod
    def register(self, request: RegisterRequest) -> UserOut:
        """Create a `user` account. Raises WEAK_PASSWORD, USERNAME_TAKEN, EMAIL_TAKEN."""

    @abc.abstractmethod
    def login(self, sign_in_name: str, password: str, client: ClientInfo) -> TokenOut:
        """Open a session and issue its tokens. Raises INVALID_CREDENTIALS, or ACCOUNT_DISABLED
        after a right password; MFA_REQUIRED for an account with a second factor."""

    @abc.abstractmethod
    def sign_in(
        self, sign_in_name: str, password: str, client: ClientInfo
    ) -> TokenOut | MfaRequiredOut:
        """As `login`; for an account with a second factor, no session yet but an mfa token
        for the second step (POST /login/mfa)."""

    @abc.abstractmethod
    def verify_credentials(self, sign_in_name: str, password: str) -> UserOut:
        """The account these credentials open, with the same failures as `login`."""

    @abc.abstractmethod
    def update_self(self, user_id: int, request: UpdateSelfRequest) -> UserOut:
        """Change the caller's own account; a new password ends every earlier token."""

    @abc.abstractmethod
    def delete_self(self, user_id: int, password: str) -> None:
        """Delete the caller's account after checking the password. Raises LAST_ADMIN."""
