"""In-memory implementations of the repository and unit of work, for service tests.

They follow the SQLAlchemy versions' contract: `add` assigns an id, username and email are
unique ignoring case (USERNAME_TAKEN / EMAIL_TAKEN, and the unit of work is rolled back as the
session rollback does), changes become visible to later units of work only after `commit`,
and leaving the `with` block without a commit discards them. The sessions' repository and the
in-memory list of ended access tokens live in tests/fake_sessions.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from B_EntityPackage.domain import ClientInfo, Role
from B_EntityPackage.login_entity_master import User
from C_SchemaPackage.request import RegisterRequest
from C_SchemaPackage.response import TokenOut, UserOut
from D_CustomExceptionPackage.errors import EmailTakenError, UsernameTakenError
from E_SecurityPackage.access_context import CurrentAccess
from E_SecurityPackage.login_auth_jwt import TokenService
from E_SecurityPackage.password_hashing import PasswordHasher
from E_SecurityPackage.password_policy import PasswordPolicy
from F_RepositoryPackage.login_repository import AccountView, SignInCredentials, UserRepository
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from H_ServiceImplementationPackage.access_check_service_implementation import AccessCheckService
from H_ServiceImplementationPackage.login_service_implementation import AuthService
from H_ServiceImplementationPackage.session_service_implementation import SessionService
from H_ServiceImplementationPackage.user_admin_service_implementation import UserAdminService
from tests.fake_audit import FakeAuditRepository
from tests.fake_mfa import NoSecondFactorRepository
from tests.fake_recovery import FakeOneTimeTokenRepository
from tests.fake_sessions import FakeSessionRepository, InMemoryTokenDenylist
from tests.support import STRONG_PASSWORD, TEST_SECRET_KEY, FakeClock

CLIENT = ClientInfo(ip="203.0.113.7", user_agent="pytest-agent/1.0")
REFRESH_LIFETIME = timedelta(days=7)

COLUMNS = tuple(column.key for column in User.__table__.columns)


def _row_of(user: User) -> dict[str, Any]:
    return {name: getattr(user, name) for name in COLUMNS}


class FakeUserRepository(UserRepository):
    """Committed rows plus the objects loaded or added in the current unit of work."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}
        self._loaded: dict[int, User] = {}
        self._deleted: set[int] = set()
        self._next_id = 1
        self.lock_requests = 0
        self.sessions: FakeSessionRepository | None = None  # set by FakeUnitOfWork

    # --- the view of the current unit of work ---------------------------------------------

    def _visible_ids(self) -> list[int]:
        ids = (set(self.rows) | set(self._loaded)) - self._deleted
        return sorted(ids)

    def _object(self, user_id: int) -> User:
        if user_id not in self._loaded:
            self._loaded[user_id] = User(**self.rows[user_id])
        return self._loaded[user_id]

    def _check_unique(self, candidate: User) -> None:
        for user_id in self._visible_ids():
            if user_id == candidate.id:
                continue
            other = self._object(user_id)
            if other.username.lower() == candidate.username.lower():
                self.rollback()
                raise UsernameTakenError()
            if other.email.lower() == candidate.email.lower():
                self.rollback()
                raise EmailTakenError()

    # --- UserRepository ---------------------------------------------------------------------

    def add(self, user: User) -> User:
        self._check_unique(user)
        user.id = self._next_id
        self._next_id += 1
        self._loaded[user.id] = user
        return user

    def save(self, user: User) -> None:
        self._check_unique(user)

    def get(self, user_id: int) -> User | None:
        if user_id not in self._visible_ids():
            return None
        return self._object(user_id)

    def account_view(self, user_id: int, lock: bool = False) -> AccountView | None:
        if user_id not in self._visible_ids():
            return None
        user = self._object(user_id)
        return AccountView(
            **{field.name: getattr(user, field.name) for field in fields(AccountView)}
        )

    def account_in_live_session(
        self, user_id: int, session_id: int, now: datetime
    ) -> AccountView | None:
        session = self.sessions.get(session_id) if self.sessions is not None else None
        live = (
            session is not None
            and session.user_id == user_id
            and session.ended_at is None
            and session.expires_at > now
        )
        return self.account_view(user_id) if live else None

    def credentials_for_sign_in(self, sign_in_name: str) -> SignInCredentials | None:
        field = "email" if "@" in sign_in_name else "username"
        for user_id in self._visible_ids():
            user = self._object(user_id)
            if str(getattr(user, field)).lower() == sign_in_name.lower():
                account = self.account_view(user_id)
                assert account is not None
                return SignInCredentials(account, user.hashed_password)
        return None

    def list_page(self, offset: int, limit: int) -> Sequence[User]:
        return [self._object(user_id) for user_id in self._visible_ids()[offset : offset + limit]]

    def count(self) -> int:
        return len(self._visible_ids())

    def active_admin_ids(self, lock: bool = False) -> list[int]:
        if lock:
            self.lock_requests += 1
        return [
            user_id
            for user_id in self._visible_ids()
            if self._object(user_id).role == Role.ADMIN.value and self._object(user_id).is_active
        ]

    def delete(self, user: User) -> None:
        self._deleted.add(user.id)

    def id_by_email(self, email: str) -> int | None:
        for user_id in self._visible_ids():
            if self._object(user_id).email.lower() == email.lower():
                return user_id
        return None

    def claim_lockout_notice(self, user_id: int, now: datetime, quiet_since: datetime) -> bool:
        user = self._object(user_id)
        if user.lockout_notice_at is not None and user.lockout_notice_at > quiet_since:
            return False
        user.lockout_notice_at = now
        return True

    def pending_deletions(self) -> set[int]:
        """The users this unit of work deletes (for the sessions' ON DELETE CASCADE)."""
        return set(self._deleted)

    # --- transaction ends -------------------------------------------------------------------

    def commit(self) -> None:
        for user_id, user in self._loaded.items():
            self.rows[user_id] = _row_of(user)
        for user_id in self._deleted:
            self.rows.pop(user_id, None)
        self.rollback()

    def rollback(self) -> None:
        self._loaded.clear()
        self._deleted.clear()

    # --- helpers for assertions -------------------------------------------------------------

    def stored(self, user_id: int) -> dict[str, Any]:
        """The committed row of a user (what a new unit of work would read)."""
        return dict(self.rows[user_id])

    def stored_by_username(self, username: str) -> dict[str, Any] | None:
        for row in self.rows.values():
            if str(row["username"]).lower() == username.lower():
                return dict(row)
        return None


class FakeUnitOfWork(AbstractUnitOfWork):
    """The ended-token store writes at once, like Redis's."""

    def __init__(
        self, users: FakeUserRepository | None = None, clock: FakeClock | None = None
    ) -> None:
        self.users: FakeUserRepository = users or FakeUserRepository()
        self.sessions: FakeSessionRepository = FakeSessionRepository(self.users)
        self.users.sessions = self.sessions
        self.audit: FakeAuditRepository = FakeAuditRepository()
        self.mfa: NoSecondFactorRepository = NoSecondFactorRepository()
        self.denied_tokens: InMemoryTokenDenylist = InMemoryTokenDenylist(clock or FakeClock())
        self.one_time_tokens: FakeOneTimeTokenRepository = FakeOneTimeTokenRepository()
        self.committed = 0
        self.rolled_back = 0

    def commit(self) -> None:
        self.sessions.delete_sessions_of_users(self.users.pending_deletions())
        self.users.commit()
        self.sessions.commit()
        self.audit.commit()
        self.committed += 1

    def rollback(self) -> None:
        self.users.rollback()
        self.sessions.rollback()
        self.audit.rollback()
        self.rolled_back += 1


class CountingHasher(PasswordHasher):
    """The real Argon2id hasher, recording each public call (each one Argon2 computation)."""

    def __init__(self, memory_kib: int = 1024, time_cost: int = 1, parallelism: int = 1) -> None:
        super().__init__(memory_kib, time_cost, parallelism)
        self.calls: list[str] = []

    def hash(self, password: str) -> str:
        self.calls.append("hash")
        return super().hash(password)

    def verify(self, password: str, stored_hash: str) -> tuple[bool, str | None]:
        self.calls.append("verify")
        return super().verify(password, stored_hash)

    def verify_unknown_user(self, password: str) -> None:
        self.calls.append("verify_unknown_user")
        super().verify_unknown_user(password)


@dataclass
class ServiceKit:
    """The three services over one in-memory store, with a counting hasher and a fake clock."""

    uow: FakeUnitOfWork
    hasher: CountingHasher
    policy: PasswordPolicy
    clock: FakeClock
    tokens: TokenService
    denylist: InMemoryTokenDenylist
    sessions: SessionService
    access: AccessCheckService
    auth: AuthService
    admin: UserAdminService

    @property
    def users(self) -> FakeUserRepository:
        return self.uow.users

    def check_token(self, token: str) -> CurrentAccess:
        return self.access.authenticate_access_token(token)


def service_kit(
    hasher: CountingHasher | None = None, uow: FakeUnitOfWork | None = None
) -> ServiceKit:
    clock = FakeClock()
    unit_of_work = uow or FakeUnitOfWork(clock=clock)
    unit_of_work.denied_tokens.clock = clock
    counting_hasher = hasher or CountingHasher()
    policy = PasswordPolicy(12)
    tokens = TokenService(
        TEST_SECRET_KEY, "HS256", "auth-service", "auth-service", timedelta(minutes=15), clock
    )
    sessions = SessionService(unit_of_work, tokens, clock, REFRESH_LIFETIME)
    return ServiceKit(
        uow=unit_of_work,
        hasher=counting_hasher,
        policy=policy,
        clock=clock,
        tokens=tokens,
        denylist=unit_of_work.denied_tokens,
        sessions=sessions,
        access=AccessCheckService(unit_of_work, tokens, clock),
        auth=AuthService(
            unit_of_work,
            counting_hasher,
            policy,
            sessions,
            clock,
        ),
        admin=UserAdminService(unit_of_work, counting_hasher, policy, clock),
    )


def registered(kit: ServiceKit, username: str = "alice") -> UserOut:
    return kit.auth.register(
        RegisterRequest(
            username=username, email=f"{username}@example.com", password=STRONG_PASSWORD
        )
    )


def signed_in(kit: ServiceKit, username: str = "alice") -> TokenOut:
    return kit.auth.login(username, STRONG_PASSWORD, CLIENT)
