"""Mailing a proof of address: the verification mail of a new account's address, and the
confirmation an email change waits for. Both run in the caller's transaction and replace the
account's older link of the same purpose."""

from __future__ import annotations

from datetime import datetime, timedelta

from B_EntityPackage.domain import Clock
from B_EntityPackage.login_entity_master import User
from B_EntityPackage.recovery_entities import TokenPurpose
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from H_ServiceImplementationPackage.mail_outbox import enqueue
from H_ServiceImplementationPackage.password_recovery_tools import RecoveryTools
from H_ServiceImplementationPackage.security_notices import mail_email_change_requested


def _mail_proof(
    uow: AbstractUnitOfWork,
    tools: RecoveryTools,
    clock: Clock,
    user: User,
    address: str,
    now: datetime,
) -> None:
    """A link and a code that prove `address`, replacing the account's older ones of the same
    purpose: verification when it is the account's own address, else a change to it."""
    change = address != user.email
    purpose = TokenPurpose.EMAIL_CHANGE if change else TokenPurpose.EMAIL_VERIFY
    uow.one_time_tokens.spend_all_of_user(user.id, now, (purpose.value,))
    lifetime = tools.verify_lifetime
    issued = tools.issue_token(uow, user.id, purpose, now, lifetime, email=address)
    hours = max(1, lifetime // timedelta(hours=1))
    message = tools.composer.proof_of_address(
        address, user.username, issued.token, issued.code, hours, change
    )
    enqueue(uow, tools.sealer, purpose.value, message, clock)


def mail_verification(
    uow: AbstractUnitOfWork, tools: RecoveryTools, clock: Clock, user: User, now: datetime
) -> None:
    """A link and a code that prove the account's current address."""
    _mail_proof(uow, tools, clock, user, user.email, now)


def request_email_change(
    uow: AbstractUnitOfWork,
    tools: RecoveryTools,
    clock: Clock,
    user: User,
    new_email: str,
    now: datetime,
) -> None:
    """The account keeps its address until `new_email` confirms: a link and a code go to the
    new address, and a notice with a link that cancels the change goes to the old one."""
    _mail_proof(uow, tools, clock, user, new_email, now)
    mail_email_change_requested(uow, tools, clock, user, new_email, now)
