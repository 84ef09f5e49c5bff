"""What admins may do to accounts, and how the first admin comes to exist."""

from __future__ import annotations

import abc

from C_SchemaPackage.request import AdminUpdateRequest, RegisterRequest
from C_SchemaPackage.response import UserOut, UserPage


class UserAdminServiceInterface(abc.ABC):
    @abc.abstractmethod
    def list_users(self, offset: int, limit: int) -> UserPage: ...

    @abc.abstractmethod
    def get_user(self, actor: UserOut, user_id: int) -> UserOut:
        """Admins see anyone (USER_NOT_FOUND if absent); others only themselves (FORBIDDEN)."""

    @abc.abstractmethod
    def update_user(self, user_id: int, request: AdminUpdateRequest) -> UserOut:
        """A role change or a disable ends the account's tokens. Raises LAST_ADMIN."""

    @abc.abstractmethod
    def delete_user(self, user_id: int) -> None: ...

    @abc.abstractmethod
    def reset_mfa(self, user_id: int) -> None:
        """Turn the account's second factor off and end its sessions. Raises USER_NOT_FOUND,
        MFA_NOT_ENABLED."""

    @abc.abstractmethod
    def create_admin(self, request: RegisterRequest) -> UserOut:
        """Create an admin account (the command-line path), password policy applied; its
        address counts as verified (the operator vouches for it)."""

    @abc.abstractmethod
    def ensure_bootstrap_admin(self, request: RegisterRequest) -> UserOut | None:
        """Create this admin when no admin exists yet; None when one already does."""
