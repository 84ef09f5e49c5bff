"""The admin service: listing, reading, changing and deleting accounts; the first admin.

Role changes, disables and enables, email and username changes, deletions and admin creation
are written to the audit trail with the acting admin (`actor_id`), in the same transaction.
"""

from __future__ import annotations

import logging

from B_EntityPackage.domain import AuditEventType, Clock, Role
from B_EntityPackage.login_entity_master import User
from C_SchemaPackage.request import AdminUpdateRequest, RegisterRequest
from C_SchemaPackage.response import UserOut, UserPage
from D_CustomExceptionPackage.errors import (
    EmailTakenError,
    ForbiddenError,
    MfaNotEnabledError,
    NothingToChangeError,
    UsernameTakenError,
    UserNotFoundError,
)
from E_SecurityPackage.password_hashing import PasswordHasher
from E_SecurityPackage.password_policy import PasswordPolicy
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from G_ServiceFunctionPackage.user_admin_service_function import UserAdminServiceInterface
from H_ServiceImplementationPackage.account_rules import (
    end_all_tokens,
    keeping_an_active_admin,
    new_user,
    to_user_out,
)
from H_ServiceImplementationPackage.audit_recorder import AuditRecorder

logger = logging.getLogger("auth_service.admin")


def _audited_changes(
    user: User, changes: dict[str, object]
) -> list[tuple[AuditEventType, str | None]]:
    """The audit events (and details) an admin's change to this account writes."""
    events: list[tuple[AuditEventType, str | None]] = []
    if "role" in changes and changes["role"] != user.role:
        events.append((AuditEventType.ROLE_CHANGE, f"ROLE_{str(changes['role']).upper()}"))
    if "is_active" in changes and changes["is_active"] != user.is_active:
        disabled = changes["is_active"] is False
        kind = AuditEventType.ACCOUNT_DISABLE if disabled else AuditEventType.ACCOUNT_ENABLE
        events.append((kind, None))
    if "email" in changes and changes["email"] != user.email:
        events.append((AuditEventType.EMAIL_CHANGE, None))
    if "username" in changes and changes["username"] != user.username:
        events.append((AuditEventType.USERNAME_CHANGE, None))
    return events


class UserAdminService(UserAdminServiceInterface):
    def __init__(
        self,
        uow: AbstractUnitOfWork,
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        clock: Clock,
        *,
        audit: AuditRecorder | None = None,
    ) -> None:
        self.uow = uow
        self.hasher = hasher
        self.policy = policy
        self.clock = clock
        self.audit = audit or AuditRecorder(clock)

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
            events = _audited_changes(user, changes)
            now = self.clock.now()
            new_address = str(changes.get("email", user.email)).lower() != user.email.lower()
            with keeping_an_active_admin(self.uow.users, user, removes=role_changes or disables):
                for field, value in changes.items():
                    setattr(user, field, value)
                if new_address:
                    user.email_verified_at = None  # an admin's word proves no mailbox
                user.updated_at = now
                # Saved before ending the tokens, whose flush would otherwise meet a taken
                # username or email first and escape the USERNAME_TAKEN / EMAIL_TAKEN
                # translation.
                self.uow.users.save(user)
            if role_changes or disables:
                end_all_tokens(self.uow, user, now)
            for event, detail in events:
                self.audit.add(self.uow, event, user.id, detail=detail)
            self.uow.commit()
            return to_user_out(user)

    def delete_user(self, user_id: int) -> None:
        with self.uow:
            user = self._existing_user(user_id)
            with keeping_an_active_admin(self.uow.users, user):
                self.audit.add(self.uow, AuditEventType.ACCOUNT_DELETE, user.id)
                self.uow.users.delete(user)
            self.uow.commit()

    def reset_mfa(self, user_id: int) -> None:
        """For someone who lost both the authenticator and the recovery codes: the secret,
        the codes and pending sign-ins are deleted, and every session ends (the next sign-in
        is by password alone, and may enroll again)."""
        with self.uow:
            user = self._existing_user(user_id)
            if not self.uow.mfa.remove(user.id):
                raise MfaNotEnabledError()
            now = self.clock.now()
            end_all_tokens(self.uow, user, now)
            user.updated_at = now
            self.uow.users.save(user)
            self.audit.add(self.uow, AuditEventType.MFA_RESET, user.id)
            self.uow.commit()

    def create_admin(self, request: RegisterRequest) -> UserOut:
        admin = new_user(request, Role.ADMIN, self.policy, self.hasher, self.clock.now())
        # The operator who runs the command line or sets BOOTSTRAP_ADMIN_* vouches for the
        # address: REQUIRE_VERIFIED_EMAIL must not lock the first admin out.
        admin.email_verified_at = admin.created_at
        with self.uow:
            self.uow.users.add(admin)
            self.audit.add(self.uow, AuditEventType.REGISTER, admin.id, detail="ROLE_ADMIN")
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
