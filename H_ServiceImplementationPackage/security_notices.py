"""Security notices: mails that tell the account's owner of a change or a lockout, each with an
"it was not me" link whose single use ends every session and token of the account (and, for
an email change, cancels it or gives the old address back)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from B_EntityPackage.domain import AuditEventType, Clock
from B_EntityPackage.login_entity_master import User
from B_EntityPackage.recovery_entities import TokenPurpose
from E_SecurityPackage.login_throttle import LimitName
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from H_ServiceImplementationPackage.audit_recorder import AuditRecorder
from H_ServiceImplementationPackage.mail_outbox import enqueue
from H_ServiceImplementationPackage.password_recovery_tools import RecoveryTools

NOT_ME_LINK_LIFETIME = timedelta(days=7)
# The limits that lock the account itself out (not the address's limit over all accounts).
ACCOUNT_LOCKOUTS = frozenset({LimitName.PAIR, LimitName.ACCOUNT})


def mail_password_changed(
    uow: AbstractUnitOfWork, tools: RecoveryTools, clock: Clock, user: User, now: datetime
) -> None:
    """In the caller's transaction, after the change has ended the account's tokens."""
    issued = tools.issue_token(uow, user.id, TokenPurpose.NOT_ME, now, NOT_ME_LINK_LIFETIME)
    notice = tools.composer.password_changed(user.email, user.username, now, issued.token)
    enqueue(uow, tools.sealer, "password_changed", notice, clock)


def mail_email_change_requested(
    uow: AbstractUnitOfWork,
    tools: RecoveryTools,
    clock: Clock,
    user: User,
    new_email: str,
    now: datetime,
) -> None:
    """To the old address, in the caller's transaction: its link remembers that address, so
    using it gives the address back if the change was confirmed meanwhile."""
    issued = tools.issue_token(
        uow, user.id, TokenPurpose.NOT_ME, now, NOT_ME_LINK_LIFETIME, email=user.email
    )
    notice = tools.composer.email_change_requested(
        user.email, user.username, new_email, now, issued.token
    )
    enqueue(uow, tools.sealer, "email_change_requested", notice, clock)


def mail_lockout_if_due(
    uow: AbstractUnitOfWork, tools: RecoveryTools, audit: AuditRecorder, user_id: int
) -> bool:
    """In the caller's transaction: the lockout notice, unless one went out within the
    failure window (LOGIN_FAILURE_WINDOW_SECONDS); whether one was written."""
    now = audit.clock.now()
    interval = tools.lockout_notice_interval
    if not uow.users.claim_lockout_notice(user_id, now, now - interval):
        return False
    user = uow.users.get(user_id)
    if user is None:
        return False
    issued = tools.issue_token(uow, user_id, TokenPurpose.NOT_ME, now, NOT_ME_LINK_LIFETIME)
    notice = tools.composer.lockout(
        user.email,
        user.username,
        now,
        audit.client.ip,
        max(1, interval // timedelta(minutes=1)),
        issued.token,
    )
    enqueue(uow, tools.sealer, "lockout", notice, audit.clock)
    audit.add(uow, AuditEventType.LOCKOUT_NOTICE, user_id)
    return True


def commit_failure(
    uow: AbstractUnitOfWork,
    audit: AuditRecorder,
    notices: RecoveryTools | None,
    event: AuditEventType,
    user_id: int | None,
    code: str,
    filled: Collection[LimitName],
) -> None:
    """A failed password or code check, in the open unit of work: roll back whatever it holds;
    commit only the failure's audit row, a `lockout` row for each limit it filled and, when it
    locked the account out, the owner's notice."""
    uow.rollback()
    for row in audit.failure_with_lockouts(event, user_id, code, filled):
        uow.audit.add(row)
    mailed = False
    if notices is not None and user_id is not None and ACCOUNT_LOCKOUTS & set(filled):
        mailed = mail_lockout_if_due(uow, notices, audit, user_id)
    uow.commit()
    if mailed and notices is not None:
        notices.wake_sender()
