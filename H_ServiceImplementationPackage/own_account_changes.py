"""A signed-in user's changes to their own account (PUT /update, DELETE /delete), and the
failure rule every password check of the account service shares.

A change of email address does not take effect at once: a link and a code go to the new
address (it changes when they are used, through the email address service) and a notice with
a cancel link goes to the old one. Without `notices` (the command line, service tests with no
mail), the change is immediate.
"""

from __future__ import annotations

from B_EntityPackage.domain import AuditEventType, ClientInfo, Clock
from B_EntityPackage.login_entity_master import User
from C_SchemaPackage.request import UpdateSelfRequest
from C_SchemaPackage.response import UserOut
from D_CustomExceptionPackage.errors import (
    CurrentPasswordRequiredError,
    EmailTakenError,
    InvalidCurrentPasswordError,
    NothingToChangeError,
    UserNotFoundError,
)
from E_SecurityPackage.login_throttle import LoginAttempt, LoginThrottle
from E_SecurityPackage.password_hashing import PasswordHasher
from E_SecurityPackage.password_policy import PasswordPolicy
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from H_ServiceImplementationPackage.account_rules import (
    audited_changes,
    end_all_tokens,
    keeping_an_active_admin,
    to_user_out,
)
from H_ServiceImplementationPackage.audit_recorder import AuditRecorder
from H_ServiceImplementationPackage.email_address_rules import request_email_change
from H_ServiceImplementationPackage.mfa_rules import FailureCounter, SecondFactorCheck, step_up
from H_ServiceImplementationPackage.password_recovery_tools import RecoveryTools
from H_ServiceImplementationPackage.security_notices import commit_failure, mail_password_changed

FIELDS_NEEDING_CURRENT_PASSWORD = ("email", "new_password")


class OwnAccountChanges:
    """The part of AuthService that changes the caller's own account."""

    uow: AbstractUnitOfWork
    hasher: PasswordHasher
    policy: PasswordPolicy
    clock: Clock
    throttle: LoginThrottle
    audit: AuditRecorder
    client: ClientInfo
    second_factor: SecondFactorCheck | None
    notices: RecoveryTools | None

    def update_self(self, user_id: int, request: UpdateSelfRequest) -> UserOut:
        changes = request.provided_changes()
        current_password = changes.pop("current_password", None)
        code = changes.pop("code", None)
        if not changes:
            raise NothingToChangeError()
        if current_password is None and any(f in changes for f in FIELDS_NEEDING_CURRENT_PASSWORD):
            raise CurrentPasswordRequiredError()
        with self.uow:
            user = self._existing_user(user_id)
            new_password = changes.pop("new_password", None)
            if new_password is not None:
                self.policy.check(
                    new_password,
                    username=changes.get("username", user.username),
                    email=changes.get("email", user.email),
                    field="new_password",
                )
            if current_password is not None:
                failure_event = (
                    AuditEventType.PASSWORD_CHANGE
                    if new_password is not None
                    else AuditEventType.EMAIL_CHANGE
                    if "email" in changes
                    else AuditEventType.ACCOUNT_UPDATE
                )
                self._check_current_password(user, current_password, failure_event)
                self._check_second_factor(user, code, failure_event)
            new_email = self._pending_email(user, changes)
            audited = audited_changes(user, changes, new_password is not None)
            new_address = str(changes.get("email", user.email)).lower() != user.email.lower()
            for field, value in changes.items():
                setattr(user, field, value)
            if new_address:
                user.email_verified_at = None
            now = self.clock.now()
            if new_password is not None:
                user.hashed_password = self.hasher.hash(new_password)
            if changes or new_password is not None:  # not for a pending email change alone
                user.updated_at = now
            # Saved before ending the tokens: that flushes too, and a taken username or email
            # must surface here as USERNAME_TAKEN / EMAIL_TAKEN, not as an untranslated error.
            self.uow.users.save(user)
            mailed = self._mail_changes(user, new_password is not None, new_email)
            for event in audited:
                self.audit.add(self.uow, event, user.id)
            self.uow.commit()
            if mailed and self.notices is not None:
                self.notices.wake_sender()
            return to_user_out(user)

    def _pending_email(self, user: User, changes: dict[str, object]) -> str | None:
        """Takes a new address out of `changes` when it must be confirmed first (a change of
        letter case alone is the same address, and is applied); EMAIL_TAKEN when another
        account uses it now."""
        new_email = changes.get("email")
        if self.notices is None or not isinstance(new_email, str):
            return None
        if new_email.lower() == user.email.lower():
            return None
        owner = self.uow.users.id_by_email(new_email)
        if owner is not None and owner != user.id:
            raise EmailTakenError()
        del changes["email"]
        return new_email

    def _mail_changes(self, user: User, new_password: bool, new_email: str | None) -> bool:
        """End what a new password ends and mail the notices, then ask the new address to
        confirm (after the ending, which spends pending links); whether anything was mailed."""
        now = self.clock.now()
        if new_password:
            end_all_tokens(self.uow, user, now)
        if self.notices is None:
            return False
        if new_password:
            mail_password_changed(self.uow, self.notices, self.clock, user, now)
        if new_email is not None:
            request_email_change(self.uow, self.notices, self.clock, user, new_email, now)
            self.audit.add(self.uow, AuditEventType.EMAIL_CHANGE_REQUEST, user.id)
        return new_password or new_email is not None

    def delete_self(self, user_id: int, password: str) -> None:
        with self.uow:
            user = self._existing_user(user_id)
            self._check_current_password(user, password, AuditEventType.ACCOUNT_DELETE)
            with keeping_an_active_admin(self.uow.users, user):
                self.audit.add(self.uow, AuditEventType.ACCOUNT_DELETE, user.id)
                self.uow.users.delete(user)
            self.uow.commit()

    def _existing_user(self, user_id: int) -> User:
        user = self.uow.users.get(user_id)
        if user is None:
            raise UserNotFoundError()
        return user

    def _check_second_factor(
        self, user: User, code: str | None, failure_event: AuditEventType
    ) -> None:
        """Step-up: with a second factor on, a change that needs the current password needs a
        fresh code too (TOTP or recovery code), spent in this transaction."""
        if self.uow.mfa.is_enabled(user.id):
            failures = FailureCounter(self.throttle, self.audit, self.client, self.notices)
            now = self.clock.now()
            try:
                step_up(self.uow, self.second_factor, failures, failure_event, user.id, code, now)
            finally:
                failures.release()

    def _check_current_password(
        self, user: User, password: str, failure_event: AuditEventType
    ) -> None:
        """A wrong current password counts as a failed sign-in of the account (a stolen
        token must not become an unlimited password oracle)."""
        account_key = self.throttle.account_key(user.id, user.username)
        with self.throttle.attempt(account_key, self.client.ip) as attempt:
            matches, _ = self.hasher.verify(password, user.hashed_password)
            if not matches:
                user_id = user.id
                self._record_failure(
                    failure_event, user_id, attempt, self.client, InvalidCurrentPasswordError.code
                )
                raise InvalidCurrentPasswordError()
            attempt.succeeded()

    def _record_failure(
        self,
        event: AuditEventType,
        user_id: int | None,
        attempt: LoginAttempt,
        client: ClientInfo,
        code: str,
    ) -> None:
        """Settle the attempt as a wrong password; in the open unit of work, roll back whatever
        it holds and commit the failure (a lockout it causes, and its notice) to the audit
        trail.

        The attempted sign-in name of an unknown account is not written: people type
        passwords into the username box.
        """
        commit_failure(self.uow, self.audit, self.notices, event, user_id, code, attempt.failed())
