"""Sessions: token pairs, refresh-token rotation with reuse detection, logout.

A session is one refresh-token family. Each refresh spends the presented token (a conditional
UPDATE, so of two racing refreshes exactly one wins) and issues a new one in the same family.
A spent token that comes back means it was copied: the whole session ends, its newest refresh
token and its access tokens included (as Auth0 and Supabase Auth do).

Sign-ins, reuse, logouts and ended sessions are written to the audit trail in the same
transaction as the change they record.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NoReturn

from B_EntityPackage.domain import AuditEventType, AuditOutcome, ClientInfo, Clock
from B_EntityPackage.session_entities import AuthSession, RefreshToken
from C_SchemaPackage.response import SessionOut, TokenOut, UserOut
from D_CustomExceptionPackage.errors import (
    InvalidCredentialsError,
    InvalidRefreshTokenError,
    InvalidTokenError,
    RefreshTokenReusedError,
    SessionNotFoundError,
    UserNotFoundError,
)
from E_SecurityPackage.access_context import CurrentAccess
from E_SecurityPackage.login_auth_jwt import PASSWORD_ONLY, TokenService
from F_RepositoryPackage.token_denylist import DeniedToken
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from G_ServiceFunctionPackage.session_service_function import SessionServiceInterface
from H_ServiceImplementationPackage.account_rules import end_all_tokens
from H_ServiceImplementationPackage.audit_recorder import AuditRecorder
from H_ServiceImplementationPackage.session_pruning import PruneSchedule

REFRESH_TOKEN_BYTES = 32  # 256 random bits
DEFAULT_MAX_LIFETIME = timedelta(days=30)
DEFAULT_MAX_SESSIONS = 50


def hash_refresh_token(token: str) -> str:
    """Refresh tokens carry 256 random bits, so a plain SHA-256 is a safe stored form."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionService(SessionServiceInterface):
    def __init__(
        self,
        uow: AbstractUnitOfWork,
        tokens: TokenService,
        clock: Clock,
        refresh_lifetime: timedelta,
        *,
        audit: AuditRecorder | None = None,
        prune_schedule: PruneSchedule | None = None,
        max_lifetime: timedelta = DEFAULT_MAX_LIFETIME,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
    ) -> None:
        """A session lasts `refresh_lifetime` past its last refresh, never more than
        `max_lifetime` past its start; an account keeps at most `max_sessions` live ones, the
        oldest ending first. `prune_schedule` is the process's shared one; without it this
        service prunes at its first sign-in and then at most once per PRUNE_INTERVAL."""
        self.uow = uow
        self.tokens = tokens
        self.clock = clock
        self.refresh_lifetime = refresh_lifetime
        self.max_lifetime = max_lifetime
        self.max_sessions = max_sessions
        self.audit = audit or AuditRecorder(clock)
        self.prune_schedule = prune_schedule or PruneSchedule()

    def start(
        self,
        user: UserOut,
        token_version: int,
        client: ClientInfo,
        amr: Sequence[str] = PASSWORD_ONLY,
    ) -> TokenOut:
        """Open a session; a sign-in also clears out expired session bookkeeping, at most
        once per PRUNE_INTERVAL per process.

        The account is read again, locked, once the session is written: if a password change,
        logout everywhere, disable, role change or deletion committed since the sign-in read it
        (its `token_version` moved on), no session is opened (INVALID_CREDENTIALS); if one
        comes after, it waits for this commit and ends this session with the others.
        """
        now = self.clock.now()
        expires_at = self._expiry(started_at=now, now=now)
        with self.uow:
            if self.prune_schedule.claim(now):
                self.uow.sessions.prune_expired(now)
            try:
                session_id = self.uow.sessions.add(
                    AuthSession(
                        user_id=user.id,
                        created_at=now,
                        last_used_at=now,
                        expires_at=expires_at,
                        user_agent=client.user_agent,
                        ip=client.ip,
                        amr=" ".join(amr),
                    )
                )
            except UserNotFoundError:  # deleted since the sign-in read it
                raise InvalidCredentialsError() from None
            current = self.uow.users.account_view(user.id, lock=True)
            if current is None or not current.is_active or current.token_version != token_version:
                raise InvalidCredentialsError()
            pair = self._issue_pair(
                session_id, user.id, user.role, token_version, now, expires_at, tuple(amr)
            )
            self._end_sessions_past_the_cap(user.id, now)
            self.audit.add(self.uow, AuditEventType.LOGIN, user.id)
            self.uow.commit()
            return pair

    def _expiry(self, started_at: datetime, now: datetime) -> datetime:
        """A session used at `now` lasts `refresh_lifetime` more, never past `max_lifetime`
        after its sign-in."""
        return min(now + self.refresh_lifetime, started_at + self.max_lifetime)

    def _end_sessions_past_the_cap(self, user_id: int, now: datetime) -> None:
        """End the account's oldest live sessions beyond `max_sessions`."""
        live = self.uow.sessions.live_ids_of_user(user_id, now)
        if len(live) > self.max_sessions:
            oldest = live[: len(live) - self.max_sessions]
            self._end_sessions(self.uow.sessions.end_ids(oldest, now))

    def _issue_pair(
        self,
        session_id: int,
        user_id: int,
        role: str,
        token_version: int,
        now: datetime,
        expires_at: datetime,
        amr: tuple[str, ...],
    ) -> TokenOut:
        """A new refresh token (valid until the session's `expires_at`) and access token of
        the session, valid from `now`."""
        refresh_token = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
        self.uow.sessions.add_refresh_token(
            RefreshToken(
                session_id=session_id,
                token_hash=hash_refresh_token(refresh_token),
                created_at=now,
                expires_at=expires_at,
            )
        )
        access = self.tokens.issue_access_token(user_id, role, token_version, session_id, amr)
        self.uow.sessions.record_access_token(session_id, access.jti, access.expires_at)
        return TokenOut(
            access_token=access.token,
            expires_in=access.expires_in,
            refresh_token=refresh_token,
            refresh_expires_in=int((expires_at - now).total_seconds()),
        )

    def refresh(self, refresh_token: str, client: ClientInfo) -> TokenOut:
        now = self.clock.now()
        token_hash = hash_refresh_token(refresh_token)
        with self.uow:
            # The conditional UPDATE comes first, so it is the statement that takes the lock.
            if not self.uow.sessions.spend_refresh_token(token_hash, now):
                self._refuse_refresh(token_hash, now)
            stored = self.uow.sessions.find_refresh_token(token_hash)
            auth_session = self.uow.sessions.get(stored.session_id, lock=True) if stored else None
            user = self.uow.users.get(auth_session.user_id) if auth_session else None
            if (
                auth_session is None
                or auth_session.ended_at is not None
                or user is None
                or not user.is_active
            ):
                raise InvalidRefreshTokenError()
            expires_at = self._expiry(started_at=auth_session.created_at, now=now)
            if expires_at <= now:
                raise InvalidRefreshTokenError()
            auth_session.expires_at = expires_at
            auth_session.last_used_at = now
            pair = self._issue_pair(
                auth_session.id,
                user.id,
                user.role,
                user.token_version,
                now,
                expires_at,
                tuple((auth_session.amr or "pwd").split()),
            )
            self.uow.commit()
            return pair

    def _refuse_refresh(self, token_hash: str, now: datetime) -> NoReturn:
        """The token could not be spent: unknown, expired, or spent before (reuse)."""
        stored = self.uow.sessions.find_refresh_token(token_hash)
        if stored is None or stored.spent_at is None:
            raise InvalidRefreshTokenError()
        auth_session = self.uow.sessions.get(stored.session_id)
        if auth_session is None or auth_session.ended_at is not None:
            raise InvalidRefreshTokenError()
        self._end_sessions(self.uow.sessions.end(auth_session, now))
        self.audit.add(
            self.uow,
            AuditEventType.REFRESH_REUSE,
            auth_session.user_id,
            AuditOutcome.FAILURE,
            RefreshTokenReusedError.code,
        )
        self.uow.commit()
        raise RefreshTokenReusedError()

    def logout(self, access: CurrentAccess, refresh_token: str | None) -> None:
        now = self.clock.now()
        with self.uow:
            ended = [DeniedToken(access.claims.jti, access.claims.expires_at)]
            session_ids = {access.claims.session_id}
            if refresh_token is not None:
                stored = self.uow.sessions.find_refresh_token(hash_refresh_token(refresh_token))
                if stored is not None:
                    session_ids.add(stored.session_id)
            for session_id in session_ids:
                auth_session = self.uow.sessions.get(session_id)
                if auth_session is not None and auth_session.user_id == access.user.id:
                    ended.extend(self.uow.sessions.end(auth_session, now))
            self._end_sessions(ended)
            self.audit.add(self.uow, AuditEventType.LOGOUT, access.user.id)
            self.uow.commit()

    def logout_all(self, user_id: int) -> None:
        with self.uow:
            user = self.uow.users.get(user_id)
            if user is None:
                raise InvalidTokenError()
            end_all_tokens(self.uow, user, self.clock.now())
            self.uow.users.save(user)
            self.audit.add(self.uow, AuditEventType.LOGOUT_ALL, user.id)
            self.uow.commit()

    def list_sessions(self, access: CurrentAccess) -> list[SessionOut]:
        with self.uow:
            return [
                SessionOut(
                    id=auth_session.id,
                    created_at=auth_session.created_at,
                    last_used_at=auth_session.last_used_at,
                    expires_at=auth_session.expires_at,
                    user_agent=auth_session.user_agent,
                    ip=auth_session.ip,
                    current=auth_session.id == access.claims.session_id,
                )
                for auth_session in self.uow.sessions.active_of_user(
                    access.user.id, self.clock.now()
                )
            ]

    def end_session(self, user_id: int, session_id: int) -> None:
        now = self.clock.now()
        with self.uow:
            auth_session = self.uow.sessions.get(session_id)
            if (
                auth_session is None
                or auth_session.user_id != user_id
                or auth_session.ended_at is not None
                or auth_session.expires_at <= now
            ):
                raise SessionNotFoundError()
            self._end_sessions(self.uow.sessions.end(auth_session, now))
            self.audit.add(self.uow, AuditEventType.SESSION_END, user_id)
            self.uow.commit()

    def _end_sessions(self, access_tokens: list[DeniedToken]) -> None:
        """Remember the ended access tokens in the unit of work's ended-token store."""
        self.uow.denied_tokens.deny(access_tokens)
