"""The account service: registration, sign-in and tokens (the caller's own account changes
are in own_account_changes).

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
from C_SchemaPackage.request import RegisterRequest
from C_SchemaPackage.response import MfaRequiredOut, TokenOut, UserOut
from D_CustomExceptionPackage.errors import (
    AccountDisabledError,
    EmailNotVerifiedError,
    InvalidCredentialsError,
    MfaRequiredError,
)
from E_SecurityPackage.login_throttle import DisabledLoginThrottle, LoginThrottle
from E_SecurityPackage.password_hashing import PasswordHasher
from E_SecurityPackage.password_policy import PasswordPolicy
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from G_ServiceFunctionPackage.login_service_function import AuthServiceInterface
from G_ServiceFunctionPackage.session_service_function import SessionServiceInterface
from H_ServiceImplementationPackage.account_rules import new_user, to_user_out
from H_ServiceImplementationPackage.audit_recorder import AuditRecorder
from H_ServiceImplementationPackage.email_address_rules import mail_verification
from H_ServiceImplementationPackage.mfa_rules import SecondFactorCheck, start_pending_sign_in
from H_ServiceImplementationPackage.own_account_changes import OwnAccountChanges
from H_ServiceImplementationPackage.password_recovery_tools import RecoveryTools


@dataclass(frozen=True)
class _StoredCredentials:
    user: UserOut
    hashed_password: str
    token_version: int
    mfa_enabled: bool


class AuthService(OwnAccountChanges, AuthServiceInterface):
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
        require_verified_email: bool = False,
    ) -> None:
        """Without `second_factor` (the key ring of stored TOTP secrets), an account with a
        second factor can sign in through `sign_in` but cannot pass a step-up. `notices` mails
        the verification link at registration and the security notices.
        `require_verified_email` (REQUIRE_VERIFIED_EMAIL) refuses the right password of an
        account whose address is unproven."""
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
        self.require_verified_email = require_verified_email

    def register(self, request: RegisterRequest) -> UserOut:
        self.throttle.hit_registration(self.client.ip)
        user = new_user(request, Role.USER, self.policy, self.hasher, self.clock.now())
        with self.uow:
            self.uow.users.add(user)
            self.audit.add(self.uow, AuditEventType.REGISTER, user.id)
            if self.notices is not None:
                mail_verification(self.uow, self.notices, self.clock, user, user.created_at)
                self.audit.add(self.uow, AuditEventType.EMAIL_VERIFY_REQUEST, user.id)
            self.uow.commit()
            registered = to_user_out(user)
        if self.notices is not None:
            self.notices.wake_sender()
        return registered

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
            if self.require_verified_email and not stored.user.email_verified:
                failure = self.audit.event(
                    event, AuditOutcome.FAILURE, user_id, EmailNotVerifiedError.code
                )
                with self.uow:
                    self._commit_failure([failure])
                raise EmailNotVerifiedError()
            if not stored.mfa_enabled:
                # With a second factor, only a passed second step clears the counter; the
                # password's places are given back (neither a failure nor a success yet).
                attempt.succeeded()
        if replacement_hash is not None:
            self._store_upgraded_hash(stored, replacement_hash)
        return stored

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
