"""Password recovery (G_ServiceFunctionPackage.password_recovery_service_function).

A reset token is 256 random bits and an 8-digit code, both stored only as hashes, valid for
RESET_TOKEN_EXPIRE_MINUTES, spent by their first use; a newer request spends the older. The
new password is checked and hashed before the token is spent, so a weak password leaves the
link usable. Setting it ends every session, refresh token and access token of the account,
spends its other one-time tokens, and mails a notice, in one transaction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import NoReturn

from B_EntityPackage.domain import AuditEventType, ClientInfo, Clock
from B_EntityPackage.recovery_entities import TokenPurpose
from D_CustomExceptionPackage.errors import (
    InvalidNoticeTokenError,
    InvalidResetCodeError,
    InvalidResetTokenError,
    ServiceError,
)
from E_SecurityPackage.login_throttle import LoginAttempt, LoginThrottle
from E_SecurityPackage.one_time_secrets import hash_token
from E_SecurityPackage.password_hashing import PasswordHasher
from E_SecurityPackage.password_policy import PasswordPolicy
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from G_ServiceFunctionPackage.password_recovery_service_function import (
    PasswordRecoveryServiceInterface,
)
from H_ServiceImplementationPackage.account_rules import end_all_tokens, spend_for_account
from H_ServiceImplementationPackage.audit_recorder import AuditRecorder
from H_ServiceImplementationPackage.mail_outbox import enqueue
from H_ServiceImplementationPackage.password_recovery_tools import RecoveryTools
from H_ServiceImplementationPackage.security_notices import commit_failure, mail_password_changed

MAX_CODE_ATTEMPTS = 5
RESET = TokenPurpose.PASSWORD_RESET.value


class PasswordRecoveryService(PasswordRecoveryServiceInterface):
    def __init__(
        self,
        uow: AbstractUnitOfWork,
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        clock: Clock,
        throttle: LoginThrottle,
        audit: AuditRecorder,
        client: ClientInfo,
        tools: RecoveryTools,
    ) -> None:
        self.uow = uow
        self.hasher = hasher
        self.policy = policy
        self.clock = clock
        self.throttle = throttle
        self.audit = audit
        self.client = client
        self.tools = tools

    def admit_reset_request(self, email: str) -> None:
        self.throttle.hit_reset_request(self.throttle.account_key(None, email), self.client.ip)

    def request_reset(self, email: str) -> None:
        now = self.clock.now()
        with self.uow:
            user_id = self.uow.one_time_tokens.active_user_id_by_email(email)
            user = self.uow.users.get(user_id) if user_id is not None else None
            if user is None:
                return
            self.uow.one_time_tokens.spend_all_of_user(user.id, now, (RESET,))
            lifetime = self.tools.reset_lifetime
            issued = self.tools.issue_token(
                self.uow, user.id, TokenPurpose.PASSWORD_RESET, now, lifetime
            )
            message = self.tools.composer.password_reset(
                user.email,
                user.username,
                issued.token,
                issued.code,
                lifetime // timedelta(minutes=1),
            )
            enqueue(self.uow, self.tools.sealer, RESET, message, self.clock)
            self.audit.add(self.uow, AuditEventType.PASSWORD_RESET_REQUEST, user.id)
            self.uow.commit()
        self.tools.wake_sender()

    def reset_with_token(self, token: str, new_password: str) -> None:
        with self.uow:
            record = self.uow.one_time_tokens.live_by_hash(
                hash_token(token), (RESET,), self.clock.now()
            )
            if record is None:
                raise InvalidResetTokenError()
            user_id, token_id = record.user_id, record.id
        self._set_password(user_id, token_id, new_password, InvalidResetTokenError())

    def reset_with_code(self, email: str, code: str, new_password: str) -> None:
        with self.uow:
            user_id = self.uow.one_time_tokens.active_user_id_by_email(email)
            record = (
                self.uow.one_time_tokens.newest_live_of_user(user_id, RESET, self.clock.now())
                if user_id is not None
                else None
            )
            token_id = record.id if record is not None else None
            token_hash = record.token_hash if record is not None else ""
            code_hash = record.code_hash if record is not None else ""
        account_key = self.throttle.account_key(user_id, email)
        with self.throttle.attempt(account_key, self.client.ip) as attempt:
            if user_id is None or token_id is None:
                self._wrong_code(attempt, user_id)
            with self.uow:
                admitted = self.uow.one_time_tokens.take_code_attempt(token_id, MAX_CODE_ATTEMPTS)
                self.uow.commit()
            if not admitted or not self.tools.secrets.code_matches(token_hash, code, code_hash):
                self._wrong_code(attempt, user_id)
            attempt.succeeded()
        self._set_password(user_id, token_id, new_password, InvalidResetCodeError())

    def not_me(self, token: str) -> None:
        now = self.clock.now()
        with self.uow:
            record = self.uow.one_time_tokens.live_by_hash(
                hash_token(token), (TokenPurpose.NOT_ME.value,), now
            )
            if record is None:
                raise InvalidNoticeTokenError()
            old_email = record.email
            user = spend_for_account(self.uow, record.user_id, record.id, now)
            if user is None:
                raise InvalidNoticeTokenError()
            end_all_tokens(self.uow, user, now)  # this also cancels a pending email change
            self.audit.add(self.uow, AuditEventType.NOT_ME, user.id)
            if old_email is not None and self._can_restore(user.id, user.email, old_email):
                user.email = old_email
                user.email_verified_at = now  # this link was opened from that mailbox
                user.updated_at = now
                self.uow.users.save(user)
                self.audit.add(self.uow, AuditEventType.EMAIL_RESTORE, user.id)
            self.uow.commit()

    def _can_restore(self, user_id: int, current: str, old_email: str) -> bool:
        """An email change the link's owner did not want was confirmed: give the old address
        back, unless another account has taken it since."""
        if current.lower() == old_email.lower():
            return False
        owner = self.uow.users.id_by_email(old_email)
        return owner is None or owner == user_id

    def _wrong_code(self, attempt: LoginAttempt, user_id: int | None) -> NoReturn:
        """A failed sign-in of the account: counted, audited (with a lockout it causes)."""
        with self.uow:
            commit_failure(
                self.uow,
                self.audit,
                self.tools,
                AuditEventType.PASSWORD_RESET,
                user_id,
                InvalidResetCodeError.code,
                attempt.failed(),
            )
        raise InvalidResetCodeError()

    def _set_password(
        self, user_id: int, token_id: int, new_password: str, refusal: ServiceError
    ) -> None:
        with self.uow:
            user = self.uow.users.get(user_id)
            if user is None or not user.is_active:
                raise refusal
            username, email = user.username, user.email
        self.policy.check(new_password, username=username, email=email)
        new_hash = self.hasher.hash(new_password)
        now = self.clock.now()
        with self.uow:
            user = self.uow.users.get(user_id)
            if user is None or not self.uow.one_time_tokens.spend(token_id, now):
                raise refusal  # deleted meanwhile, or another request used the token first
            user.hashed_password = new_hash
            user.updated_at = now
            self.uow.users.save(user)
            end_all_tokens(self.uow, user, now)
            mail_password_changed(self.uow, self.tools, self.clock, user, now)
            self.audit.add(self.uow, AuditEventType.PASSWORD_RESET, user.id)
            self.uow.commit()
        self.tools.wake_sender()
