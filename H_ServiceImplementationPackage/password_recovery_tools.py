"""What password recovery, email verification and the security notices need, built once per
application."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from B_EntityPackage.recovery_entities import OneTimeToken, TokenPurpose
from E_SecurityPackage.mail_sealing import MailSealer
from E_SecurityPackage.one_time_secrets import IssuedSecret, OneTimeSecrets
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from H_ServiceImplementationPackage.mail_composer import MailComposer


@dataclass(frozen=True)
class RecoveryTools:
    """Built once per application."""

    secrets: OneTimeSecrets
    sealer: MailSealer
    composer: MailComposer
    reset_lifetime: timedelta
    wake_sender: Callable[[], None]
    verify_lifetime: timedelta = timedelta(hours=24)
    # LOGIN_FAILURE_WINDOW_SECONDS: at most one lockout notice per account in this time.
    lockout_notice_interval: timedelta = timedelta(minutes=15)

    def issue_token(
        self,
        uow: AbstractUnitOfWork,
        user_id: int,
        purpose: TokenPurpose,
        now: datetime,
        lifetime: timedelta,
        email: str | None = None,
    ) -> IssuedSecret:
        """A new one-time token (and its code) of the account, about `email` when given,
        stored as hashes in the caller's unit of work; the plain ones are for the mail."""
        issued = self.secrets.issue()
        uow.one_time_tokens.add(
            OneTimeToken(
                user_id=user_id,
                purpose=purpose.value,
                token_hash=issued.token_hash,
                code_hash=self.secrets.code_hash(issued.token_hash, issued.code),
                code_attempts=0,
                created_at=now,
                expires_at=now + lifetime,
                email=email,
            )
        )
        return issued
