"""The keys tokens are signed and verified with, and when each one may do which.

A stored key's state is a function of its timestamps and the time, so every worker and
instance that reads the same rows agrees without talking to the others:

- standby: created, published in the JWKS, not signing yet (until `activates_at`, which
  rotation sets one JWKS cache lifetime plus the key cache ahead);
- active: the newest key whose `activates_at` has passed signs;
- retired: an older one; it still verifies (and stays published) until the last token it can
  have signed expires: its retirement plus the access-token lifetime plus a little slack;
- revoked: from `revoked_at` on it verifies nothing and is not published.

`CachedKeyRing` reads the rows through a loader (the composition root gives it the service's)
at most every `ttl` seconds per process, and again, at most every `refresh_interval`
seconds, when a token names a kid it does not know: the hot path never waits on the database
for keys otherwise.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from jose import jwk
from jose.backends.base import Key

from B_EntityPackage.domain import Clock
from D_CustomExceptionPackage.errors import SigningKeyUnavailableError
from E_SecurityPackage.jwk_keys import (
    hmac_jwk,
    is_asymmetric,
    load_private_pem,
    private_pem,
    public_jwk,
    published_jwk,
    thumbprint,
)

logger = logging.getLogger("auth_service.keys")


REVOKED_KEY_MARK = "kid:"
"""A revoked key's kid goes into the ended-token store as `kid:<kid>` (no jti holds a colon),
so every worker and instance refuses its tokens at once, with the check each request already
makes for its jti."""


def revoked_key_mark(kid: str) -> str:
    return REVOKED_KEY_MARK + kid


class KeyState(enum.StrEnum):
    STANDBY = "standby"
    ACTIVE = "active"
    RETIRED = "retired"
    REVOKED = "revoked"


@dataclass(frozen=True)
class StoredKey:
    """A key as stored: its public JWK, and its private PEM once decrypted."""

    kid: str
    algorithm: str
    public_jwk: Mapping[str, str]
    private_pem: str | None
    created_at: datetime
    activates_at: datetime
    retired_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class KeyStatus:
    key: StoredKey
    state: KeyState
    retired_at: datetime | None
    verifies_until: datetime | None
    """None while the key is standby or active (no end yet)."""

    def verifies_at(self, now: datetime) -> bool:
        if self.state is KeyState.REVOKED:
            return False
        return self.verifies_until is None or now < self.verifies_until

    def published_at(self, now: datetime) -> bool:
        return self.verifies_at(now)


@dataclass(frozen=True)
class KeySchedule:
    keys: tuple[StoredKey, ...]
    retired_grace: timedelta
    """How long a retired key still verifies: the token lifetime plus slack for clock skew."""

    def statuses(self, now: datetime) -> list[KeyStatus]:
        revoked = {k.kid for k in self.keys if k.revoked_at is not None and k.revoked_at <= now}
        started = sorted(
            (k for k in self.keys if k.kid not in revoked and k.activates_at <= now),
            key=lambda k: (k.activates_at, k.created_at, k.kid),
        )
        signing = [k for k in started if k.retired_at is None or k.retired_at > now]
        signer = signing[-1] if signing else None
        result: list[KeyStatus] = []
        for key in self.keys:
            if key.kid in revoked:
                result.append(KeyStatus(key, KeyState.REVOKED, key.retired_at, key.revoked_at))
            elif key.activates_at > now:
                result.append(KeyStatus(key, KeyState.STANDBY, None, None))
            elif key is signer:
                result.append(KeyStatus(key, KeyState.ACTIVE, None, None))
            else:
                retired = key.retired_at or self._successor_start(started, key)
                until = retired + self.retired_grace
                result.append(KeyStatus(key, KeyState.RETIRED, retired, until))
        return result

    @staticmethod
    def _successor_start(started: list[StoredKey], key: StoredKey) -> datetime:
        later = started[started.index(key) + 1 :]
        return later[0].activates_at if later else key.activates_at

    def signer(self, now: datetime) -> StoredKey | None:
        for status in self.statuses(now):
            if status.state is KeyState.ACTIVE:
                return status.key
        return None

    def verifier(self, kid: str, now: datetime) -> StoredKey | None:
        for status in self.statuses(now):
            if status.key.kid == kid and status.verifies_at(now):
                return status.key
        return None

    def published(self, now: datetime) -> list[StoredKey]:
        return [status.key for status in self.statuses(now) if status.published_at(now)]


@dataclass(frozen=True)
class TokenKey:
    """A key ready for python-jose: `verifier` is public (or the HMAC secret)."""

    kid: str
    algorithm: str
    verifier: Key
    signer: Key | None


def hmac_token_key(secret: str, algorithm: str) -> TokenKey:
    key = jwk.construct(secret, algorithm)
    return TokenKey(thumbprint(hmac_jwk(secret)), algorithm, key, key)


def token_key_of(stored: StoredKey) -> TokenKey:
    verifier = jwk.construct(dict(stored.public_jwk), stored.algorithm)
    signer = (
        jwk.construct(stored.private_pem, stored.algorithm)
        if stored.private_pem is not None
        else None
    )
    return TokenKey(stored.kid, stored.algorithm, verifier, signer)


class KeyRing(Protocol):
    def signing_key(self) -> TokenKey: ...

    def verification_key(self, kid: str) -> TokenKey | None: ...

    def public_jwks(self) -> list[dict[str, str]]: ...

    def invalidate(self) -> None: ...

    def refresh_soon(self) -> None: ...


class StaticKeyRing:
    """One key for good: the HMAC secret (nothing published) or a PEM file's key pair."""

    def __init__(self, key: TokenKey, public: Mapping[str, str] | None = None) -> None:
        self.key = key
        self._published = [published_jwk(public, key.kid, key.algorithm)] if public else []

    def signing_key(self) -> TokenKey:
        return self.key

    def verification_key(self, kid: str) -> TokenKey | None:
        return self.key if kid == self.key.kid else None

    def public_jwks(self) -> list[dict[str, str]]:
        return list(self._published)

    def invalidate(self) -> None:
        """Nothing is cached."""

    def refresh_soon(self) -> None:
        """Nothing is cached."""


class CachedKeyRing:
    def __init__(
        self,
        loader: Callable[[], Sequence[StoredKey]],
        clock: Clock,
        retired_grace: timedelta,
        ttl_seconds: float,
        refresh_interval: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader = loader
        self._clock = clock
        self._grace = retired_grace
        self._ttl = ttl_seconds
        self._refresh_interval = refresh_interval
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._schedule: KeySchedule | None = None
        self._loaded_at = 0.0
        self._token_keys: dict[str, TokenKey] = {}

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = float("-inf")

    def refresh_soon(self) -> None:
        """Read the keys again now, or `refresh_interval` after the last read if that was more
        recent (a token of a revoked key came in: this worker may still be signing with it)."""
        with self._lock:
            due = max(self._monotonic(), self._loaded_at + self._refresh_interval)
            self._loaded_at = min(self._loaded_at, due - self._ttl)

    def schedule(self) -> KeySchedule:
        if self._schedule is None or self._monotonic() - self._loaded_at >= self._ttl:
            return self._reload(self._ttl)
        return self._schedule

    def _reload(self, older_than: float) -> KeySchedule:
        with self._lock:
            fresh = self._schedule is not None and self._monotonic() - self._loaded_at < older_than
            if self._schedule is not None and fresh:
                return self._schedule
            try:
                keys = tuple(self._loader())
            except Exception:
                if self._schedule is None:
                    raise
                # Keep verifying with what we have; try again after the refresh interval.
                logger.warning("signing keys could not be read; the cached set is kept")
                self._loaded_at = self._monotonic() - self._ttl + self._refresh_interval
                return self._schedule
            self._schedule = KeySchedule(keys, self._grace)
            self._loaded_at = self._monotonic()
            known = {key.kid for key in keys}
            self._token_keys = {k: v for k, v in self._token_keys.items() if k in known}
            return self._schedule

    def _token_key(self, stored: StoredKey) -> TokenKey:
        key = self._token_keys.get(stored.kid)
        if key is None:
            key = token_key_of(stored)
            self._token_keys[stored.kid] = key
        return key

    def signing_key(self) -> TokenKey:
        stored = self.schedule().signer(self._clock.now())
        if stored is None:
            stored = self._reload(self._refresh_interval).signer(self._clock.now())
        if stored is None or stored.private_pem is None:
            raise SigningKeyUnavailableError()
        return self._token_key(stored)

    def verification_key(self, kid: str) -> TokenKey | None:
        stored = self.schedule().verifier(kid, self._clock.now())
        if stored is None:
            # An unknown kid may be a key another instance just made: look again, rate-bound.
            stored = self._reload(self._refresh_interval).verifier(kid, self._clock.now())
        if stored is None or not is_asymmetric(stored.algorithm):
            return None
        return self._token_key(stored)

    def public_jwks(self) -> list[dict[str, str]]:
        return [
            published_jwk(key.public_jwk, key.kid, key.algorithm)
            for key in self.schedule().published(self._clock.now())
        ]


def pem_key_ring(pem: bytes, algorithm: str) -> StaticKeyRing:
    """The ring of a JWT_PRIVATE_KEY_FILE: that key signs, and is the one published."""
    private = load_private_pem(pem, algorithm)
    public = public_jwk(private)
    key = TokenKey(
        kid=thumbprint(public),
        algorithm=algorithm,
        verifier=jwk.construct(public, algorithm),
        signer=jwk.construct(private_pem(private), algorithm),
    )
    return StaticKeyRing(key, public)
