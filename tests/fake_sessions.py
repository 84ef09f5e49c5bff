"""In-memory sign-in sessions and ended-token list, for service tests (see tests/fakes.py).

FakeSessionRepository follows SqlAlchemySessionRepository's contract: `add` returns the new id,
refresh-token hashes are unique, rows must point at an existing user and session (foreign keys),
`spend_refresh_token` is a conditional update (unspent and unexpired, true at most once per
token), `end` returns only the access tokens that have not yet expired, `prune_expired` deletes
expired sessions (with their tokens) and expired access-token records, changes are seen by later
units of work only after `commit`, and a committed user deletion removes the user's sessions
with everything in them (ON DELETE CASCADE).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from B_EntityPackage.domain import Clock
from B_EntityPackage.session_entities import AuthSession, RefreshToken, SessionAccessToken
from F_RepositoryPackage.session_repository import SessionRepository
from F_RepositoryPackage.token_denylist import DeniedToken, TokenDenylist

SESSION_COLUMNS = (
    "id",
    "user_id",
    "created_at",
    "last_used_at",
    "expires_at",
    "user_agent",
    "ip",
    "ended_at",
    "amr",
)
REFRESH_TOKEN_COLUMNS = ("id", "session_id", "token_hash", "created_at", "expires_at", "spent_at")
ACCESS_TOKEN_COLUMNS = ("jti", "session_id", "expires_at")


class UserLookup(Protocol):
    """What the sessions need from the users' repository: the current unit of work's view."""

    def get(self, user_id: int) -> Any: ...


def _row(entity: object, columns: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(entity, name) for name in columns}


@dataclass
class _Working:
    """The current unit of work's view of the three tables."""

    sessions: dict[int, AuthSession] = field(default_factory=dict)
    refresh_tokens: dict[int, RefreshToken] = field(default_factory=dict)
    access_tokens: dict[str, SessionAccessToken] = field(default_factory=dict)


class FakeSessionRepository(SessionRepository):
    def __init__(self, users: UserLookup) -> None:
        self.users = users
        self.session_rows: dict[int, dict[str, Any]] = {}
        self.refresh_token_rows: dict[int, dict[str, Any]] = {}
        self.access_token_rows: dict[str, dict[str, Any]] = {}
        self._working: _Working | None = None
        self._next_session_id = 1
        self._next_token_id = 1
        self.prunes = 0

    def _view(self) -> _Working:
        if self._working is None:
            self._working = _Working(
                sessions={key: AuthSession(**row) for key, row in self.session_rows.items()},
                refresh_tokens={
                    key: RefreshToken(**row) for key, row in self.refresh_token_rows.items()
                },
                access_tokens={
                    key: SessionAccessToken(**row) for key, row in self.access_token_rows.items()
                },
            )
        return self._working

    def _require_session(self, session_id: int) -> None:
        if session_id not in self._view().sessions:
            raise LookupError(f"foreign key: no session {session_id}")

    # --- SessionRepository ------------------------------------------------------------------

    def add(self, auth_session: AuthSession) -> int:
        """Like the real one, keeps a copy: a later change to `auth_session` is not saved."""
        if self.users.get(auth_session.user_id) is None:
            raise LookupError(f"foreign key: no user {auth_session.user_id}")
        stored = AuthSession(**_row(auth_session, SESSION_COLUMNS))
        stored.id = self._next_session_id
        self._next_session_id += 1
        self._view().sessions[stored.id] = stored
        return stored.id

    def get(self, session_id: int, lock: bool = False) -> AuthSession | None:
        return self._view().sessions.get(session_id)

    def active_of_user(self, user_id: int, now: datetime) -> Sequence[AuthSession]:
        return [
            auth_session
            for _, auth_session in sorted(self._view().sessions.items())
            if auth_session.user_id == user_id
            and auth_session.ended_at is None
            and auth_session.expires_at > now
        ]

    def add_refresh_token(self, token: RefreshToken) -> None:
        self._require_session(token.session_id)
        if self.find_refresh_token(token.token_hash) is not None:
            raise ValueError("unique constraint: refresh_tokens.token_hash")
        stored = RefreshToken(**_row(token, REFRESH_TOKEN_COLUMNS))
        stored.id = self._next_token_id
        self._next_token_id += 1
        self._view().refresh_tokens[stored.id] = stored

    def find_refresh_token(self, token_hash: str) -> RefreshToken | None:
        for token in self._view().refresh_tokens.values():
            if token.token_hash == token_hash:
                return token
        return None

    def spend_refresh_token(self, token_hash: str, now: datetime) -> bool:
        token = self.find_refresh_token(token_hash)
        if token is None or token.spent_at is not None or token.expires_at <= now:
            return False
        token.spent_at = now
        return True

    def record_access_token(self, session_id: int, jti: str, expires_at: datetime) -> None:
        self._require_session(session_id)
        if jti in self._view().access_tokens:
            raise ValueError("primary key: session_access_tokens.jti")
        self._view().access_tokens[jti] = SessionAccessToken(
            jti=jti, session_id=session_id, expires_at=expires_at
        )

    def end(self, auth_session: AuthSession, now: datetime) -> list[DeniedToken]:
        return self._end([auth_session], now)

    def end_all_of_user(self, user_id: int, now: datetime) -> list[DeniedToken]:
        sessions = [
            auth_session
            for auth_session in self._view().sessions.values()
            if auth_session.user_id == user_id and auth_session.ended_at is None
        ]
        return self._end(sessions, now)

    def live_ids_of_user(self, user_id: int, now: datetime) -> list[int]:
        return [auth_session.id for auth_session in self.active_of_user(user_id, now)]

    def end_ids(self, session_ids: Sequence[int], now: datetime) -> list[DeniedToken]:
        sessions = self._view().sessions
        return self._end([sessions[session_id] for session_id in session_ids], now)

    def _end(self, sessions: Sequence[AuthSession], now: datetime) -> list[DeniedToken]:
        """Like the SQL repository: ends the live ones, returns the tokens of those it ended."""
        live = [auth_session for auth_session in sessions if auth_session.ended_at is None]
        ids = {auth_session.id for auth_session in live}
        for auth_session in live:
            auth_session.ended_at = now
        return [
            DeniedToken(jti=token.jti, expires_at=token.expires_at)
            for token in self._view().access_tokens.values()
            if token.session_id in ids and token.expires_at > now
        ]

    def prune_expired(self, now: datetime) -> bool:
        view = self._view()
        self._delete_sessions({key for key, row in view.sessions.items() if row.expires_at <= now})
        view.access_tokens = {
            key: row for key, row in view.access_tokens.items() if row.expires_at > now
        }
        self.prunes += 1
        return True

    # --- the cascade and the transaction ends -----------------------------------------------

    def delete_sessions_of_users(self, user_ids: Iterable[int]) -> None:
        """ON DELETE CASCADE, for the users this unit of work deletes."""
        users = set(user_ids)
        self._delete_sessions(
            {key for key, row in self._view().sessions.items() if row.user_id in users}
        )

    def _delete_sessions(self, doomed: set[int]) -> None:
        view = self._view()
        view.sessions = {key: row for key, row in view.sessions.items() if key not in doomed}
        view.refresh_tokens = {
            key: row for key, row in view.refresh_tokens.items() if row.session_id not in doomed
        }
        view.access_tokens = {
            key: row for key, row in view.access_tokens.items() if row.session_id not in doomed
        }

    def commit(self) -> None:
        if self._working is not None:
            view = self._working
            self.session_rows = {
                key: _row(value, SESSION_COLUMNS) for key, value in view.sessions.items()
            }
            self.refresh_token_rows = {
                key: _row(value, REFRESH_TOKEN_COLUMNS)
                for key, value in view.refresh_tokens.items()
            }
            self.access_token_rows = {
                key: _row(value, ACCESS_TOKEN_COLUMNS) for key, value in view.access_tokens.items()
            }
        self.rollback()

    def rollback(self) -> None:
        self._working = None

    # --- helpers for assertions -------------------------------------------------------------

    def stored_sessions_of(self, user_id: int) -> list[dict[str, Any]]:
        """The committed session rows of a user, by id."""
        return [
            dict(row) for _, row in sorted(self.session_rows.items()) if row["user_id"] == user_id
        ]

    def stored_refresh_tokens_of(self, session_id: int) -> list[dict[str, Any]]:
        return [
            dict(row)
            for _, row in sorted(self.refresh_token_rows.items())
            if row["session_id"] == session_id
        ]


class InMemoryTokenDenylist(TokenDenylist):
    """Like the Redis store: written at once, an entry forgotten when its token expires."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.entries: dict[str, datetime] = {}

    def deny(self, tokens: Iterable[DeniedToken]) -> None:
        now = self.clock.now()
        self.entries = {jti: at for jti, at in self.entries.items() if at > now}
        for token in tokens:
            if token.expires_at > now:
                self.entries[token.jti] = token.expires_at

    def is_denied(self, jti: str) -> bool:
        expires_at = self.entries.get(jti)
        return expires_at is not None and expires_at > self.clock.now()
