"""The account service: registration, sign-in, tokens and the caller's own account.

Every password check is an attempt of the login throttle (E_SecurityPackage.login_throttle),
counted before the hash: a full failure window answers TOO_MANY_REQUESTS before any Argon2
work, and concurrent checks cannot together pass a limit. Outcomes are written
to the audit trail: successes in the same transaction as the change; a failure rolls the
change back and commits only its audit rows, before the error is raised. No database
connection is held while a sign-in's password is verified.
"""

from __future__ import annotations

from dataclasses import dataclass

from B_EntityPackage.audit_entities import AuditEvent
from B_EntityPackage.domain import NO_CLIENT, AuditEventType, AuditOutcome, ClientInfo, Clock, Role
from B_EntityPackage.login_entity_master import User
from C_SchemaPackage.request import RegisterRequest, UpdateSelfRequest
from C_SchemaPackage.response import MfaRequiredOut, TokenOut, UserOut
from D_CustomExceptionPackage.errors import (
    AccountDisabledError,
    CurrentPasswordRequiredError,
    InvalidCredentialsError,
    InvalidCurrentPasswordError,
    MfaRequiredError,
    NothingToChangeError,
    UserNotFoundError,
)
from E_SecurityPackage.login_throttle import DisabledLoginThrottle, LoginAttempt, LoginThrottle
from E_SecurityPackage.password_hashing import PasswordHasher
from E_SecurityPackage.password_policy import PasswordPolicy
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from G_ServiceFunctionPackage.login_service_function import AuthServiceInterface
from G_ServiceFunctionPackage.session_service_function import SessionServiceInterface
from H_ServiceImplementationPackage.account_rules import (
    audited_changes,
    end_all_tokens,
    keeping_an_active_admin,
    new_user,
    to_user_out,
)
from H_ServiceImplementationPackage.audit_recorder import AuditRecorder
from H_ServiceImplementationPackage.mfa_rules import (
    FailureCounter,
    SecondFactorCheck,
    start_pending_sign_in,
    step_up,
)
from H_ServiceImplementationPackage.password_recovery_tools import RecoveryTools
from H_ServiceImplementationPackage.security_notices import mail_password_changed

FIELDS_NEEDING_CURRENT_PASSWORD = ("email", "new_password")


@dataclass(frozen=True)
class _StoredCredentials:
    user: UserOut
    hashed_password: str
    token_version: int
    mfa_enabled: bool


class AuthService(AuthServiceInterface):
    """`throttle`, `audit` and `client` are given per request by the composition root; the
    defaults (no limits, no client details) serve the command line and service tests."""

    def __init__(
        self,
        uow: AbstractUnitOfWork,
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        sessions: SessionServiceInterface,
        clock: Clock,
        *,
        throttle: LoginThrottle | None = None,
        audit: AuditRecorder | None = None,
        client: ClientInfo = NO_CLIENT,
        second_factor: SecondFactorCheck | None = None,
        notices: RecoveryTools | None = None,
    ) -> None:
        """Without `second_factor` (the key ring of stored TOTP secrets), an account with a
        second factor can sign in through `sign_in` but cannot pass a step-up."""
        self.uow = uow
        self.hasher = hasher
        self.policy = policy
        self.sessions = sessions
        self.clock = clock
        self.throttle = throttle or DisabledLoginThrottle()
        self.audit = audit or AuditRecorder(clock, client)
        self.client = client
        self.second_factor = second_factor
        self.notices = notices

    def register(self, request: RegisterRequest) -> UserOut:
        self.throttle.hit_registration(self.client.ip)
        user = new_user(request, Role.USER, self.policy, self.hasher, self.clock.now())
        with self.uow:
            self.uow.users.add(user)
            self.audit.add(self.uow, AuditEventType.REGISTER, user.id)
            self.uow.commit()
            return to_user_out(user)

    def login(self, sign_in_name: str, password: str, client: ClientInfo) -> TokenOut:
        result = self.sign_in(sign_in_name, password, client)
        if isinstance(result, MfaRequiredOut):
            raise MfaRequiredError("This account has a second factor: sign in through /login.")
        return result

    def sign_in(
        self, sign_in_name: str, password: str, client: ClientInfo
    ) -> TokenOut | MfaRequiredOut:
        """Tokens; or, when the account has a second factor, an mfa token for /login/mfa
        (the failure counter of the account and address is only cleared once it is passed)."""
        credentials = self._authenticate(sign_in_name, password, AuditEventType.LOGIN, client)
        if credentials.mfa_enabled:
            return start_pending_sign_in(
                self.uow, credentials.user.id, credentials.token_version, self.clock.now()
            )
        return self.sessions.start(credentials.user, credentials.token_version, client)

    def verify_credentials(self, sign_in_name: str, password: str) -> UserOut:
        credentials = self._authenticate(
            sign_in_name, password, AuditEventType.CREDENTIALS_CHECK, self.client
        )
        with self.uow:
            self.audit.add(self.uow, AuditEventType.CREDENTIALS_CHECK, credentials.user.id)
            self.uow.commit()
        return credentials.user

    def _authenticate(
        self, sign_in_name: str, password: str, event: AuditEventType, client: ClientInfo
    ) -> _StoredCredentials:
        """Check a password without holding a database connection during the hash.

        An unknown account costs one dummy verification, so it answers like a wrong password
        in body, status and time. A disabled account is only revealed to the right password.
        """
        stored = self._load_credentials(sign_in_name)
        user_id = stored.user.id if stored is not None else None
        account_key = self.throttle.account_key(user_id, sign_in_name)
        with self.throttle.attempt(account_key, client.ip) as attempt:
            if stored is None:
                self.hasher.verify_unknown_user(password)
                with self.uow:
                    self._record_failure(event, None, attempt, client, InvalidCredentialsError.code)
                raise InvalidCredentialsError()
            matches, replacement_hash = self.hasher.verify(password, stored.hashed_password)
            if not matches:
                with self.uow:
                    self._record_failure(
                        event, user_id, attempt, client, InvalidCredentialsError.code
                    )
                raise InvalidCredentialsError()
            if not stored.user.is_active:
                failure = self.audit.event(
                    event, AuditOutcome.FAILURE, user_id, AccountDisabledError.code
                )
                with self.uow:
                    self._commit_failure([failure])
                raise AccountDisabledError()
            if not stored.mfa_enabled:
                # With a second factor, only a passed second step clears the counter; the
                # password's places are given back (neither a failure nor a success yet).
                attempt.succeeded()
        if replacement_hash is not None:
            self._store_upgraded_hash(stored, replacement_hash)
        return stored

    def _record_failure(
        self,
        event: AuditEventType,
        user_id: int | None,
        attempt: LoginAttempt,
        client: ClientInfo,
        code: str,
    ) -> None:
        """Settle the attempt as a wrong password; in the open unit of work, roll back whatever
        it holds and commit the failure (and a lockout it causes) to the audit trail.

        The attempted sign-in name of an unknown account is not written: people type
        passwords into the username box.
        """
        events = self.audit.failure_with_lockouts(event, user_id, code, attempt.failed())
        self._commit_failure(events)

    def _commit_failure(self, events: list[AuditEvent]) -> None:
        """In the open unit of work: roll back whatever it holds, commit only these rows."""
        self.uow.rollback()
        for audit_event in events:
            self.uow.audit.add(audit_event)
        self.uow.commit()

    def _load_credentials(self, sign_in_name: str) -> _StoredCredentials | None:
        """A copy of the account, read in a unit of work that ends before the password is
        verified; a hash changed meanwhile is caught by _store_upgraded_hash."""
        with self.uow:
            found = self.uow.users.credentials_for_sign_in(sign_in_name)
            mfa_enabled = found is not None and self.uow.mfa.is_enabled(found.account.id)
        if found is None:
            return None
        account = found.account
        return _StoredCredentials(
            UserOut.model_validate(account),
            found.hashed_password,
            account.token_version,
            mfa_enabled,
        )

    def _store_upgraded_hash(self, stored: _StoredCredentials, replacement_hash: str) -> None:
        """Re-hash with today's Argon2 parameters, unless the password changed meanwhile."""
        with self.uow:
            user = self.uow.users.get(stored.user.id)
            if user is None or user.hashed_password != stored.hashed_password:
                return
            user.hashed_password = replacement_hash
            self.uow.users.save(user)
            self.uow.commit()

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
            audited = audited_changes(user, changes, new_password is not None)
            for field, value in changes.items():
                setattr(user, field, value)
            now = self.clock.now()
            if new_password is not None:
                user.hashed_password = self.hasher.hash(new_password)
            user.updated_at = now
            # Saved before ending the tokens: that flushes too, and a taken username or email
            # must surface here as USERNAME_TAKEN / EMAIL_TAKEN, not as an untranslated error.
            self.uow.users.save(user)
            if new_password is not None:
                end_all_tokens(self.uow, user, now)
                if self.notices is not None:
                    mail_password_changed(self.uow, self.notices, self.clock, user, now)
            for event in audited:
                self.audit.add(self.uow, event, user.id)
            self.uow.commit()
            if new_password is not None and self.notices is not None:
                self.notices.wake_sender()
            return to_user_out(user)

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
            failures = FailureCounter(self.throttle, self.audit, self.client)
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
