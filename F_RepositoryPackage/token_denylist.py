"""The ended-token store: access tokens ended before their expiry, remembered by `jti` until
they would have expired.

One interface, two stores: Redis when REDIS_URL is set (a key per token that expires with the
token), else the database's `revoked_access_tokens` table. Either way every worker and every
instance sees the same list. A Redis outage fails closed: SERVICE_UNAVAILABLE, never a token
accepted because its check could not be made.
"""

from __future__ import annotations

import abc
import logging
import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import redis
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from B_EntityPackage.domain import Clock
from B_EntityPackage.session_entities import RevokedAccessToken
from D_CustomExceptionPackage.errors import ServiceUnavailableError

logger = logging.getLogger("auth_service.token_store")

REDIS_KEY_PREFIX = "auth:denied-jti:"
REDIS_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class DeniedToken:
    jti: str
    expires_at: datetime


class TokenDenylist(abc.ABC):
    @abc.abstractmethod
    def deny(self, tokens: Iterable[DeniedToken]) -> None:
        """Remember these tokens as ended until their expiry."""

    @abc.abstractmethod
    def is_denied(self, jti: str) -> bool: ...

    def is_any_denied(self, identifiers: Sequence[str]) -> bool:
        """Whether any of them is ended (a token's jti, its signing key's revocation mark);
        the stores below ask in one round trip."""
        return any(self.is_denied(identifier) for identifier in identifiers)


_DENIED = select(RevokedAccessToken.jti).where(
    RevokedAccessToken.jti == bindparam("jti"), RevokedAccessToken.expires_at > bindparam("now")
)
_ANY_DENIED = select(RevokedAccessToken.jti).where(
    RevokedAccessToken.jti.in_(bindparam("identifiers", expanding=True)),
    RevokedAccessToken.expires_at > bindparam("now"),
)


class SqlAlchemyTokenDenylist(TokenDenylist):
    """Writes in the unit of work's session, so an ended session and its denied tokens commit
    together. Expired rows are deleted by SessionRepository.prune_expired."""

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
        parameters = {"jti": jti, "now": self.clock.now()}
        return self.session.connection().execute(_DENIED, parameters).first() is not None

    def is_any_denied(self, identifiers: Sequence[str]) -> bool:
        parameters = {"identifiers": list(identifiers), "now": self.clock.now()}
        return self.session.connection().execute(_ANY_DENIED, parameters).first() is not None


@contextmanager
def redis_outage_is_unavailable() -> Iterator[None]:
    try:
        yield
    except redis.RedisError as error:
        raise ServiceUnavailableError(
            "The token store is unavailable; try again shortly."
        ) from error


class RedisTokenDenylist(TokenDenylist):
    """Writes at once, before the unit of work commits. A Redis outage does not stop the
    session from ending in the database: the write is given up with a warning, and the access
    check, which also requires the token's session to be live, refuses those tokens anyway."""

    def __init__(self, client: redis.Redis, clock: Clock) -> None:
        self.client = client
        self.clock = clock

    def deny(self, tokens: Iterable[DeniedToken]) -> None:
        now = self.clock.now()
        pipeline = self.client.pipeline(transaction=False)
        queued = 0
        for token in tokens:
            remaining = math.ceil((token.expires_at - now).total_seconds())
            if remaining > 0:
                pipeline.set(REDIS_KEY_PREFIX + token.jti, b"1", ex=remaining)
                queued += 1
        if queued:
            try:
                pipeline.execute()
            except redis.RedisError as error:
                logger.warning(
                    "ended tokens not written to Redis; their sessions end in the database",
                    extra={"tokens": queued, "error": type(error).__name__},
                )

    def is_denied(self, jti: str) -> bool:
        with redis_outage_is_unavailable():
            return bool(self.client.exists(REDIS_KEY_PREFIX + jti))

    def is_any_denied(self, identifiers: Sequence[str]) -> bool:
        with redis_outage_is_unavailable():
            return bool(self.client.exists(*(REDIS_KEY_PREFIX + i for i in identifiers)))


def redis_client_from_url(url: str) -> redis.Redis:
    """A client with short timeouts, so an outage answers 503 quickly instead of hanging."""
    return redis.Redis.from_url(
        url,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        health_check_interval=15,
    )
