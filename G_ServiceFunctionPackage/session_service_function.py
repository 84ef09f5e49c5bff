"""Sign-in sessions: issuing token pairs, rotating refresh tokens, ending sessions."""

from __future__ import annotations

import abc
from collections.abc import Sequence

from B_EntityPackage.domain import ClientInfo
from C_SchemaPackage.response import SessionOut, TokenOut, UserOut
from E_SecurityPackage.access_context import CurrentAccess


class SessionServiceInterface(abc.ABC):
    @abc.abstractmethod
    def start(
        self,
        user: UserOut,
        token_version: int,
        client: ClientInfo,
        amr: Sequence[str] = ("pwd",),
    ) -> TokenOut:
        """Open a session for an authenticated account; an access and a refresh token whose
        access tokens carry `amr` (RFC 8176), refreshed ones included."""

    @abc.abstractmethod
    def refresh(self, refresh_token: str, client: ClientInfo) -> TokenOut:
        """Spend a refresh token for a new pair. Raises INVALID_REFRESH_TOKEN, or
        REFRESH_TOKEN_REUSED (after ending the whole session) for a spent one."""

    @abc.abstractmethod
    def logout(self, access: CurrentAccess, refresh_token: str | None) -> None:
        """End this access token and its session (and the session of `refresh_token`)."""

    @abc.abstractmethod
    def logout_all(self, user_id: int) -> None:
        """End every session and every access token of the account."""

    @abc.abstractmethod
    def list_sessions(self, access: CurrentAccess) -> list[SessionOut]: ...

    @abc.abstractmethod
    def end_session(self, user_id: int, session_id: int) -> None:
        """End one of the caller's sessions. Raises SESSION_NOT_FOUND."""
