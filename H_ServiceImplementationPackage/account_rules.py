"""Rules shared by the account and admin services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from B_EntityPackage.domain import AuditEventType, Role
from B_EntityPackage.login_entity_master import User
from B_EntityPackage.recovery_entities import SPENT_WHEN_ALL_ENDS
from C_SchemaPackage.request import RegisterRequest
from C_SchemaPackage.response import UserOut
from D_CustomExceptionPackage.errors import LastAdminError
from E_SecurityPackage.password_hashing import PasswordHasher
from E_SecurityPackage.password_policy import PasswordPolicy
from F_RepositoryPackage.login_repository import UserRepository
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork


def to_user_out(user: User) -> UserOut:
    return UserOut.model_validate(user)


def new_user(
    request: RegisterRequest,
    role: Role,
    policy: PasswordPolicy,
    hasher: PasswordHasher,
    now: datetime,
) -> User:
    """A checked, hashed, not yet stored account."""
    policy.check(request.password, username=request.username, email=request.email)
    return User(
        username=request.username,
        email=request.email,
        full_name=request.full_name,
        hashed_password=hasher.hash(request.password),
        role=role.value,
        is_active=True,
        token_version=0,
        created_at=now,
        updated_at=now,
    )


def is_active_admin(user: User) -> bool:
    return user.role == Role.ADMIN.value and user.is_active


@contextmanager
def keeping_an_active_admin(
    users: UserRepository, user: User, removes: bool = True
) -> Iterator[None]:
    """Around writing a change that `removes` the user's admin rights (a demotion, a disable,
    a deletion): LAST_ADMIN when no other active admin would remain.

    Checked before the write, with the admin rows locked (PostgreSQL), so two admins removing
    each other at once cannot both pass; and again once the write is done, in the same
    transaction: on SQLite, which has no row locks, the first write holds the database's write
    lock until the commit, so of two concurrent removals the second finds the first one's."""
    guarded = removes and is_active_admin(user)
    if guarded and not [
        admin_id for admin_id in users.active_admin_ids(lock=True) if admin_id != user.id
    ]:
        raise LastAdminError()
    yield
    if guarded and not users.active_admin_ids():
        raise LastAdminError()


def end_all_tokens(uow: AbstractUnitOfWork, user: User, now: datetime) -> None:
    """End every access token (they carry the version they were issued under, so bumping it
    ends them all) and every session, so no refresh token can mint new ones; and spend every
    pending link (a reset link must not outlive a password change; see SPENT_WHEN_ALL_ENDS)."""
    user.token_version += 1
    uow.sessions.end_all_of_user(user.id, now)
    uow.one_time_tokens.spend_all_of_user(user.id, now, SPENT_WHEN_ALL_ENDS)


def audited_changes(
    user: User, changes: dict[str, object], new_password: bool
) -> list[AuditEventType]:
    """The audit events a successful PUT /update writes (a full name change writes none)."""
    events = [AuditEventType.PASSWORD_CHANGE] if new_password else []
    if "email" in changes and changes["email"] != user.email:
        events.append(AuditEventType.EMAIL_CHANGE)
    if "username" in changes and changes["username"] != user.username:
        events.append(AuditEventType.USERNAME_CHANGE)
    return events


def spend_for_account(
    uow: AbstractUnitOfWork, user_id: int, token_id: int, now: datetime
) -> User | None:
    """Spend a mailed one-time token and load its account afresh; None when the token was
    already spent (another request won) or the account is gone.

    The account's row is locked first (PostgreSQL), so two links of one account used at once
    (an email change's confirmation and its "it was not me") run one after the other, each on
    a fresh read, and always take their locks in the same order; on SQLite the spend's write
    takes the database's write lock before the account is read."""
    uow.users.account_view(user_id, lock=True)
    if not uow.one_time_tokens.spend(token_id, now):
        return None
    return uow.users.get(user_id)
