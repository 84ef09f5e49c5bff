"""The database store of ended access tokens (used when REDIS_URL is not set)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from B_EntityPackage.session_entities import RevokedAccessToken
from E_SecurityPackage.clock import Clock
from E_SecurityPackage.token_denylist import DeniedToken, TokenDenylist


class SqlAlchemyTokenDenylist(TokenDenylist):
    """Writes inside the caller's unit of work, so an ended session and its denied tokens
    commit together. Expired rows are deleted by SessionRepository.prune_expired."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def deny(self, tokens: Iterable[DeniedToken]) -> None:
        now = self.clock.now()
        fresh = {token.jti: token for token in tokens if token.expires_at > now}
        if not fresh:
            return
        known = set(
            self.session.scalars(
                select(RevokedAccessToken.jti).where(RevokedAccessToken.jti.in_(fresh))
            )
        )
        self.session.add_all(
            RevokedAccessToken(jti=token.jti, expires_at=token.expires_at)
            for jti, token in fresh.items()
            if jti not in known
        )
        self.session.flush()

    def is_denied(self, jti: str) -> bool:
        statement = select(RevokedAccessToken.jti).where(
            RevokedAccessToken.jti == jti, RevokedAccessToken.expires_at > self.clock.now()
        )
        return self.session.scalar(statement) is not None
