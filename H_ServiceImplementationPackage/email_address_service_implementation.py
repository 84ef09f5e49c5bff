"""Email verification and email change confirmation
(G_ServiceFunctionPackage.email_address_service_function).

A verification link proves the account's current address: it is bound to that address, so a
link mailed before the address changed proves nothing. A change link proves the new address,
which then replaces the old one, spends the account's other verification and change links,
and counts as verified. The token is spent in the same transaction as the change, so two uses
of one link cannot both succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

from B_EntityPackage.domain import AuditEventType, ClientInfo, Clock
from B_EntityPackage.recovery_entities import OneTimeToken, TokenPurpose
from C_SchemaPackage.email_schemas import EmailVerifiedOut
from D_CustomExceptionPackage.errors import (
    InvalidVerifyCodeError,
    InvalidVerifyTokenError,
    ServiceError,
)
from E_SecurityPackage.login_throttle import LoginAttempt, LoginThrottle
from E_SecurityPackage.one_time_secrets import hash_token
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from G_ServiceFunctionPackage.email_address_service_function import (
    EmailAddressServiceInterface,
)
from H_ServiceImplementationPackage.account_rules import spend_for_account
from H_ServiceImplementationPackage.audit_recorder import AuditRecorder
from H_ServiceImplementationPackage.email_address_rules import mail_verification
from H_ServiceImplementationPackage.password_recovery_service_implementation import (
    MAX_CODE_ATTEMPTS,
)
from H_ServiceImplementationPackage.password_recovery_tools import RecoveryTools
from H_ServiceImplementationPackage.security_notices import commit_failure

VERIFY = TokenPurpose.EMAIL_VERIFY.value
CHANGE = TokenPurpose.EMAIL_CHANGE.value


@dataclass(frozen=True)
class _Proof:
    """A live token, copied out of the unit of work that found it."""

    token_id: int
    user_id: int
    purpose: str
    email: str
    token_hash: str
    code_hash: str

    @classmethod
    def of(cls, token: OneTimeToken) -> _Proof:
        return cls(
            token.id,
            token.user_id,
            token.purpose,
            token.email or "",
            token.token_hash,
            token.code_hash,
        )


class EmailAddressService(EmailAddressServiceInterface):
    def __init__(
        self,
        uow: AbstractUnitOfWork,
        clock: Clock,
        throttle: LoginThrottle,
        audit: AuditRecorder,
        client: ClientInfo,
        tools: RecoveryTools,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.throttle = throttle
        self.audit = audit
        self.client = client
        self.tools = tools

    def admit_verification_request(self, email: str) -> None:
        self.throttle.hit_verify_request(self.throttle.account_key(None, email), self.client.ip)

    def request_verification(self, email: str) -> None:
        now = self.clock.now()
        with self.uow:
            user_id = self.uow.one_time_tokens.active_user_id_by_email(email)
            user = self.uow.users.get(user_id) if user_id is not None else None
            if user is None or user.email_verified:
                return
            mail_verification(self.uow, self.tools, self.clock, user, now)
            self.audit.add(self.uow, AuditEventType.EMAIL_VERIFY_REQUEST, user.id)
            self.uow.commit()
        self.tools.wake_sender()

    def verify_with_token(self, token: str) -> EmailVerifiedOut:
        with self.uow:
            record = self.uow.one_time_tokens.live_by_hash(
                hash_token(token), (VERIFY, CHANGE), self.clock.now()
            )
            proof = _Proof.of(record) if record is not None else None
        if proof is None:
            raise InvalidVerifyTokenError()
        return self._prove(proof, InvalidVerifyTokenError())

    def verify_with_code(self, email: str, code: str) -> EmailVerifiedOut:
        proof = self._proof_for_code(email)
        user_id = proof.user_id if proof is not None else None
        account_key = self.throttle.account_key(user_id, email)
        with self.throttle.attempt(account_key, self.client.ip) as attempt:
            if proof is None:
                self._wrong_code(attempt, None)
            with self.uow:
                admitted = self.uow.one_time_tokens.take_code_attempt(
                    proof.token_id, MAX_CODE_ATTEMPTS
                )
                self.uow.commit()
            secrets = self.tools.secrets
            if not admitted or not secrets.code_matches(proof.token_hash, code, proof.code_hash):
                self._wrong_code(attempt, proof.user_id)
            attempt.succeeded()
        return self._prove(proof, InvalidVerifyCodeError())

    def _proof_for_code(self, email: str) -> _Proof | None:
        """The verification link of the account that uses this address now; else the newest
        change to it (an address in use cannot be changed to, so there is no other choice)."""
        now = self.clock.now()
        with self.uow:
            owner = self.uow.users.id_by_email(email)
            record = self.uow.one_time_tokens.newest_live_for_email(email, VERIFY, now)
            if record is None or record.user_id != owner:
                record = self.uow.one_time_tokens.newest_live_for_email(email, CHANGE, now)
            return _Proof.of(record) if record is not None else None

    def _wrong_code(self, attempt: LoginAttempt, user_id: int | None) -> NoReturn:
        with self.uow:
            commit_failure(
                self.uow,
                self.audit,
                self.tools,
                AuditEventType.EMAIL_VERIFY,
                user_id,
                InvalidVerifyCodeError.code,
                attempt.failed(),
            )
        raise InvalidVerifyCodeError()

    def _prove(self, proof: _Proof, refusal: ServiceError) -> EmailVerifiedOut:
        now = self.clock.now()
        with self.uow:
            # A refusal below rolls the spend back.
            user = spend_for_account(self.uow, proof.user_id, proof.token_id, now)
            if user is None or not user.is_active:
                raise refusal  # another request used it first, or the account is disabled
            changes = proof.purpose == CHANGE
            if not changes and user.email.lower() != proof.email.lower():
                raise refusal  # a link to an address the account no longer uses
            if changes:
                self.uow.one_time_tokens.spend_all_of_user(user.id, now, (VERIFY, CHANGE))
                user.email = proof.email
            user.email_verified_at = now
            user.updated_at = now
            self.uow.users.save(user)  # EMAIL_TAKEN when another account took the address
            event = AuditEventType.EMAIL_CHANGE if changes else AuditEventType.EMAIL_VERIFY
            self.audit.add(self.uow, event, user.id)
            self.uow.commit()
            return EmailVerifiedOut(email=user.email)
