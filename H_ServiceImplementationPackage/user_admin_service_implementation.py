"""The admin service: listing, reading, changing and deleting accounts; the first admin."""

from __future__ import annotations

import logging

from B_EntityPackage.login_entity_master import Role, User
from C_SchemaPackage.request import AdminUpdateRequest, RegisterRequest
from C_SchemaPackage.response import UserOut, UserPage
from D_CustomExceptionPackage.errors import (
    EmailTakenError,
    ForbiddenError,
    NothingToChangeError,
    UsernameTakenError,
    UserNotFoundError,
)
from E_SecurityPackage.clock import Clock
from E_SecurityPackage.password_hashing import PasswordHasher
from E_SecurityPackage.password_policy import PasswordPolicy
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from G_ServiceFunctionPackage.user_admin_service_function import UserAdminServiceInterface
from H_ServiceImplementationPackage.account_rules import (
    end_all_tokens,
    ensure_another_active_admin,
    is_active_admin,
    new_user,
    to_user_out,
)

logger = logging.getLogger("auth_service.admin")


class UserAdminService(UserAdminServiceInterface):
    def __init__(
        self,
        uow: AbstractUnitOfWork,
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        clock: Clock,
    ) -> None:
        self.uow = uow
        self.hasher = hasher
        self.policy = policy
        self.clock = clock

    def list_users(self, offset: int, limit: int) -> UserPage:
        with self.uow:
            items = [to_user_out(user) for user in self.uow.users.list_page(offset, limit)]
            return UserPage(items=items, total=self.uow.users.count(), offset=offset, limit=limit)

    def get_user(self, actor: UserOut, user_id: int) -> UserOut:
        if actor.role != Role.ADMIN.value and actor.id != user_id:
            raise ForbiddenError("Only admins can read other accounts.")
        with self.uow:
            return to_user_out(self._existing_user(user_id))

    def update_user(self, user_id: int, request: AdminUpdateRequest) -> UserOut:
        changes = request.provided_changes()
        if not changes:
            raise NothingToChangeError()
        with self.uow:
            user = self._existing_user(user_id)
            role_changes = "role" in changes and changes["role"] != user.role
            disables = changes.get("is_active") is False and user.is_active
            if (role_changes or disables) and is_active_admin(user):
                ensure_another_active_admin(self.uow.users, user)
            now = self.clock.now()
            for field, value in changes.items():
                setattr(user, field, value)
            user.updated_at = now
            # Saved before ending the tokens, whose flush would otherwise meet a taken username
            # or email first and escape the USERNAME_TAKEN / EMAIL_TAKEN translation.
            self.uow.users.save(user)
            if role_changes or disables:
                end_all_tokens(self.uow, user, now)
            self.uow.commit()
            return to_user_out(user)

    def delete_user(self, user_id: int) -> None:
        with self.uow:
            user = self._existing_user(user_id)
            ensure_another_active_admin(self.uow.users, user)
            self.uow.users.delete(user)
            self.uow.commit()

    def create_admin(self, request: RegisterRequest) -> UserOut:
        admin = new_user(request, Role.ADMIN, self.policy, self.hasher, self.clock.now())
        with self.uow:
            self.uow.users.add(admin)
            self.uow.commit()
            return to_user_out(admin)

    def ensure_bootstrap_admin(self, request: RegisterRequest) -> UserOut | None:
        with self.uow:
            if self.uow.users.active_admin_ids():
                return None
        try:
            return self.create_admin(request)
        except (UsernameTakenError, EmailTakenError):
            logger.warning(
                "bootstrap admin not created: the username or email is already registered"
            )
            return None

    def _existing_user(self, user_id: int) -> User:
        user = self.uow.users.get(user_id)
        if user is None:
            raise UserNotFoundError()
        return user
