"""Failed sign-ins and registrations, counted with the `limits` library (moving windows).

Failures are counted three ways within LOGIN_FAILURE_WINDOW_SECONDS: per account and client
address together (LOGIN_MAX_FAILURES), per account from everywhere
(LOGIN_MAX_FAILURES_PER_ACCOUNT) and per address over all accounts
(LOGIN_MAX_FAILURES_PER_ADDRESS). A full window refuses the next attempt with
TOO_MANY_REQUESTS before any password is hashed, so a locked window costs no Argon2 work and
the right password does not get through either. A successful sign-in clears the account and
address counter (as django-axes does); the wider two keep counting.

Keys: an account is `user:<id>` once the sign-in name resolves (so its username and email
share one budget), else a keyed hash of the lower-cased name (people type passwords into the
username box; none reaches Redis). IPv6 addresses are counted per /64, the block one
subscriber usually holds.

Redis (shared by every worker and instance) when REDIS_URL is set, else this process's
memory. A Redis outage fails closed: SERVICE_UNAVAILABLE, never an uncounted attempt.
"""

from __future__ import annotations

import abc
import hashlib
import hmac
import ipaddress
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

import redis
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import MovingWindowSupport, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from B_EntityPackage.domain import Clock
from D_CustomExceptionPackage.errors import ServiceUnavailableError, TooManyRequestsError
from E_SecurityPackage.rate_limit_storage import ClockMemoryStorage

DEFAULT_KEY_PREFIX = "auth:rate-limit"
UNKNOWN_ADDRESS = "unknown"
IPV6_SUBSCRIBER_PREFIX = 64


class LimitName(StrEnum):
    """The limit that refused a request, named after its setting (written to the audit)."""

    PAIR = "LOGIN_MAX_FAILURES"
    ACCOUNT = "LOGIN_MAX_FAILURES_PER_ACCOUNT"
    ADDRESS = "LOGIN_MAX_FAILURES_PER_ADDRESS"
    REGISTER = "REGISTER_RATE_LIMIT"


@dataclass(frozen=True)
class ThrottleLimits:
    window_seconds: int
    max_failures: int
    max_failures_per_account: int
    max_failures_per_address: int
    register: tuple[RateLimitItem, ...]

    def failure_items(self) -> dict[LimitName, RateLimitItem]:
        def item(amount: int) -> RateLimitItem:
            return RateLimitItemPerSecond(amount, self.window_seconds, namespace="AUTH")

        return {
            LimitName.PAIR: item(self.max_failures),
            LimitName.ACCOUNT: item(self.max_failures_per_account),
            LimitName.ADDRESS: item(self.max_failures_per_address),
        }


def address_bucket(address: str | None) -> str:
    """The address as counted: IPv4 as is, IPv6 by its /64."""
    if not address:
        return UNKNOWN_ADDRESS
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        network = ipaddress.IPv6Network((parsed, IPV6_SUBSCRIBER_PREFIX), strict=False)
        return str(network)
    return str(parsed)


class LoginThrottle(abc.ABC):
    @abc.abstractmethod
    def account_key(self, user_id: int | None, sign_in_name: str) -> str:
        """The key an account is counted under; see the module docstring."""

    @abc.abstractmethod
    def check(self, account_key: str, address: str | None) -> None:
        """Raise TOO_MANY_REQUESTS when any failure window of this pair is full."""

    @abc.abstractmethod
    def record_failure(self, account_key: str, address: str | None) -> list[LimitName]:
        """Count a failure; returns the limits this failure has just filled (a lockout)."""

    @abc.abstractmethod
    def record_success(self, account_key: str, address: str | None) -> None:
        """Clear the account-and-address counter."""

    @abc.abstractmethod
    def hit_registration(self, address: str | None) -> None:
        """Count a registration attempt; TOO_MANY_REQUESTS past REGISTER_RATE_LIMIT."""


class DisabledLoginThrottle(LoginThrottle):
    """RATE_LIMIT_ENABLED=false: nothing is counted and nothing is refused."""

    def account_key(self, user_id: int | None, sign_in_name: str) -> str:
        return ""

    def check(self, account_key: str, address: str | None) -> None:
        return None

    def record_failure(self, account_key: str, address: str | None) -> list[LimitName]:
        return []

    def record_success(self, account_key: str, address: str | None) -> None:
        return None

    def hit_registration(self, address: str | None) -> None:
        return None


@contextmanager
def store_outage_is_unavailable() -> Iterator[None]:
    try:
        yield
    except (redis.RedisError, StorageError) as error:
        raise ServiceUnavailableError(
            "The rate-limit store is unavailable; try again shortly."
        ) from error


class LimitsLoginThrottle(LoginThrottle):
    def __init__(
        self,
        storage: Storage,
        limits: ThrottleLimits,
        now: Callable[[], float],
        name_key_secret: bytes,
    ) -> None:
        if not isinstance(storage, MovingWindowSupport):
            raise TypeError("the storage must support moving windows")
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)
        self.limits = limits
        self.items = limits.failure_items()
        self.now = now
        self._name_key_secret = name_key_secret

    def account_key(self, user_id: int | None, sign_in_name: str) -> str:
        if user_id is not None:
            return f"user:{user_id}"
        digest = hmac.new(
            self._name_key_secret, sign_in_name.lower().encode("utf-8"), hashlib.sha256
        )
        return f"name:{digest.hexdigest()[:32]}"

    def _identifiers(self, account_key: str, address: str | None) -> dict[LimitName, list[str]]:
        bucket = address_bucket(address)
        return {
            LimitName.PAIR: ["login-pair", account_key, bucket],
            LimitName.ACCOUNT: ["login-account", account_key],
            LimitName.ADDRESS: ["login-address", bucket],
        }

    def _retry_after(self, item: RateLimitItem, identifiers: Sequence[str]) -> int:
        stats = self.limiter.get_window_stats(item, *identifiers)
        return max(1, math.ceil(stats.reset_time - self.now()))

    def check(self, account_key: str, address: str | None) -> None:
        waits: list[int] = []
        with store_outage_is_unavailable():
            for name, identifiers in self._identifiers(account_key, address).items():
                item = self.items[name]
                if not self.limiter.test(item, *identifiers):
                    waits.append(self._retry_after(item, identifiers))
        if waits:
            raise TooManyRequestsError(retry_after=max(waits))

    def record_failure(self, account_key: str, address: str | None) -> list[LimitName]:
        filled: list[LimitName] = []
        with store_outage_is_unavailable():
            for name, identifiers in self._identifiers(account_key, address).items():
                item = self.items[name]
                if self.limiter.hit(item, *identifiers) and not self.limiter.test(
                    item, *identifiers
                ):
                    filled.append(name)
        return filled

    def record_success(self, account_key: str, address: str | None) -> None:
        identifiers = self._identifiers(account_key, address)[LimitName.PAIR]
        with store_outage_is_unavailable():
            self.limiter.clear(self.items[LimitName.PAIR], *identifiers)

    def hit_registration(self, address: str | None) -> None:
        bucket = address_bucket(address)
        waits: list[int] = []
        with store_outage_is_unavailable():
            for item in self.limits.register:
                if not self.limiter.hit(item, "register", bucket):
                    waits.append(self._retry_after(item, ["register", bucket]))
        if waits:
            raise TooManyRequestsError(retry_after=max(waits))


def memory_login_throttle(
    limits: ThrottleLimits, clock: Clock, name_key_secret: bytes
) -> LimitsLoginThrottle:
    """Counted in this process only (no REDIS_URL): each worker has its own windows."""
    storage = ClockMemoryStorage(clock)
    return LimitsLoginThrottle(storage, limits, storage.now, name_key_secret)


def redis_login_throttle(
    client: redis.Redis,
    url: str,
    limits: ThrottleLimits,
    name_key_secret: bytes,
    key_prefix: str = DEFAULT_KEY_PREFIX,
) -> LimitsLoginThrottle:
    """Shared by every worker and instance. limits' Redis scripts take their timestamps from
    this host's clock (time.time()), so the hosts of a deployment need synchronised clocks."""
    storage = RedisStorage(url, connection_pool=client.connection_pool, key_prefix=key_prefix)
    return LimitsLoginThrottle(storage, limits, time.time, name_key_secret)
