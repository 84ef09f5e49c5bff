"""The account service: registration, sign-in, tokens and the caller's own account."""

from __future__ import annotations

from dataclasses import dataclass

from B_EntityPackage.login_entity_master import Role, User
from C_SchemaPackage.request import RegisterRequest, UpdateSelfRequest
from C_SchemaPackage.response import TokenOut, UserOut
from D_CustomExceptionPackage.errors import (
    AccountDisabledError,
    CurrentPasswordRequiredError,
    InvalidCredentialsError,
    InvalidCurrentPasswordError,
    NothingToChangeError,
    UserNotFoundError,
)
from E_SecurityPackage.access_context import ClientInfo
from E_SecurityPackage.clock import Clock
from E_SecurityPackage.password_hashing import PasswordHasher
from E_SecurityPackage.password_policy import PasswordPolicy
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from G_ServiceFunctionPackage.login_service_function import AuthServiceInterface
from G_ServiceFunctionPackage.session_service_function import SessionServiceInterface
from H_ServiceImplementationPackage.account_rules import (
    end_all_tokens,
    ensure_another_active_admin,
    new_user,
    to_user_out,
)

FIELDS_NEEDING_CURRENT_PASSWORD = ("email", "new_password")


@dataclass(frozen=True)
class _StoredCredentials:
    user: UserOut
    hashed_password: str
    token_version: int


class AuthService(AuthServiceInterface):
    def __init__(
        self,
        uow: AbstractUnitOfWork,
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        sessions: SessionServiceInterface,
        clock: Clock,
    ) -> None:
        self.uow = uow
        self.hasher = hasher
        self.policy = policy
        self.sessions = sessions
        self.clock = clock

    def register(self, request: RegisterRequest) -> UserOut:
        user = new_user(request, Role.USER, self.policy, self.hasher, self.clock.now())
        with self.uow:
            self.uow.users.add(user)
            self.uow.commit()
            return to_user_out(user)

    def login(self, sign_in_name: str, password: str, client: ClientInfo) -> TokenOut:
        credentials = self._authenticate(sign_in_name, password)
        return self.sessions.start(credentials.user, credentials.token_version, client)

    def verify_credentials(self, sign_in_name: str, password: str) -> UserOut:
        return self._authenticate(sign_in_name, password).user

    def _authenticate(self, sign_in_name: str, password: str) -> _StoredCredentials:
        """Check a password without holding a database connection during the hash.

        An unknown account costs one dummy verification, so it answers like a wrong password
        in body, status and time. A disabled account is only revealed to the right password.
        """
        stored = self._load_credentials(sign_in_name)
        if stored is None:
            self.hasher.verify_unknown_user(password)
            raise InvalidCredentialsError()
        matches, replacement_hash = self.hasher.verify(password, stored.hashed_password)
        if not matches:
            raise InvalidCredentialsError()
        if not stored.user.is_active:
            raise AccountDisabledError()
        if replacement_hash is not None:
            self._store_upgraded_hash(stored, replacement_hash)
        return stored

    def _load_credentials(self, sign_in_name: str) -> _StoredCredentials | None:
        with self.uow:
            user = self.uow.users.find_by_sign_in_name(sign_in_name)
            if user is None:
                return None
            return _StoredCredentials(to_user_out(user), user.hashed_password, user.token_version)

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
                self._check_current_password(user, current_password)
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
            self.uow.commit()
            return to_user_out(user)

    def delete_self(self, user_id: int, password: str) -> None:
        with self.uow:
            user = self._existing_user(user_id)
            self._check_current_password(user, password)
            ensure_another_active_admin(self.uow.users, user)
            self.uow.users.delete(user)
            self.uow.commit()

    def _existing_user(self, user_id: int) -> User:
        user = self.uow.users.get(user_id)
        if user is None:
            raise UserNotFoundError()
        return user

    def _check_current_password(self, user: User, password: str) -> None:
        matches, _ = self.hasher.verify(password, user.hashed_password)
        if not matches:
            raise InvalidCurrentPasswordError()
