"""Security notices: mails that tell the account's owner of a change, each with an "it was not
me" link whose single use ends every session and token of the account."""

from __future__ import annotations

from datetime import datetime, timedelta

from B_EntityPackage.domain import Clock
from B_EntityPackage.login_entity_master import User
from B_EntityPackage.recovery_entities import TokenPurpose
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from H_ServiceImplementationPackage.mail_outbox import enqueue
from H_ServiceImplementationPackage.password_recovery_tools import RecoveryTools

NOT_ME_LINK_LIFETIME = timedelta(days=7)


def mail_password_changed(
    uow: AbstractUnitOfWork, tools: RecoveryTools, clock: Clock, user: User, now: datetime
) -> None:
    """In the caller's transaction, after the change has ended the account's tokens (which
    spends the older one-time tokens, not this new one)."""
    issued = tools.issue_token(uow, user.id, TokenPurpose.NOT_ME, now, NOT_ME_LINK_LIFETIME)
    notice = tools.composer.password_changed(user.email, user.username, now, issued.token)
    enqueue(uow, tools.sealer, "password_changed", notice, clock)
