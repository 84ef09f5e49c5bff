"""Failed sign-ins and registrations, counted with the `limits` library (moving windows).

Failures are counted three ways within LOGIN_FAILURE_WINDOW_SECONDS: per account and client
address together (LOGIN_MAX_FAILURES), per account from everywhere
(LOGIN_MAX_FAILURES_PER_ACCOUNT) and per address over all accounts
(LOGIN_MAX_FAILURES_PER_ADDRESS).

An attempt is counted before its password is hashed: `attempt()` takes a place in all three
windows at once, or refuses with TOO_MANY_REQUESTS when any is full (so a full window costs no
Argon2 work, and the right password does not get through either). Concurrent attempts thus
hold places while they hash, and a burst can never check more passwords than the limits allow.
A wrong password leaves its places taken. A right one clears the account and address counter
(as django-axes does) and gives back its places in the wider two, which count only failures.
An attempt that ends neither way (a disabled account, an outage) gives back all three.

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
from limits.storage import MovingWindowSupport, Storage
from limits.strategies import MovingWindowRateLimiter

from B_EntityPackage.domain import Clock
from D_CustomExceptionPackage.errors import ServiceUnavailableError, TooManyRequestsError
from E_SecurityPackage.rate_limit_storage import (
    ClockMemoryStorage,
    ReleasableEntries,
    ReleasableRedisStorage,
)

DEFAULT_KEY_PREFIX = "auth:rate-limit"
UNKNOWN_ADDRESS = "unknown"
IPV6_SUBSCRIBER_PREFIX = 64


class LimitName(StrEnum):
    """The limit that refused a request, named after its setting (written to the audit)."""

    PAIR = "LOGIN_MAX_FAILURES"
    ACCOUNT = "LOGIN_MAX_FAILURES_PER_ACCOUNT"
    ADDRESS = "LOGIN_MAX_FAILURES_PER_ADDRESS"
    REGISTER = "REGISTER_RATE_LIMIT"
    RESET_REQUEST = "RESET_REQUEST_RATE_LIMIT"
    VERIFY_REQUEST = "VERIFY_REQUEST_RATE_LIMIT"


@dataclass(frozen=True)
class ThrottleLimits:
    window_seconds: int
    max_failures: int
    max_failures_per_account: int
    max_failures_per_address: int
    register: tuple[RateLimitItem, ...]
    reset_request: tuple[RateLimitItem, ...] = ()
    verify_request: tuple[RateLimitItem, ...] = ()

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


class LoginAttempt(abc.ABC):
    """A password check that holds a place in each failure window until it is settled."""

    @abc.abstractmethod
    def failed(self) -> list[LimitName]:
        """A wrong password: its places stay taken. Returns the limits it filled (a lockout)."""

    @abc.abstractmethod
    def succeeded(self) -> None:
        """The right password: clear the account-and-address counter and give back the places
        held in the per-account and per-address windows."""

    @abc.abstractmethod
    def abandon(self) -> None:
        """Neither settled (a disabled account, an error): give back every place."""


class UncountedAttempt(LoginAttempt):
    def failed(self) -> list[LimitName]:
        return []

    def succeeded(self) -> None:
        return None

    def abandon(self) -> None:
        return None


class LoginThrottle(abc.ABC):
    @abc.abstractmethod
    def account_key(self, user_id: int | None, sign_in_name: str) -> str:
        """The key an account is counted under; see the module docstring."""

    @abc.abstractmethod
    def begin(self, account_key: str, address: str | None) -> LoginAttempt:
        """Take a place in every failure window of this pair, or raise TOO_MANY_REQUESTS
        (taking none) when any of them is full."""

    @contextmanager
    def attempt(self, account_key: str, address: str | None) -> Iterator[LoginAttempt]:
        """`begin`, and give the places back if the block settles nothing."""
        attempt = self.begin(account_key, address)
        try:
            yield attempt
        finally:
            attempt.abandon()

    @abc.abstractmethod
    def hit_registration(self, address: str | None) -> None:
        """Count a registration attempt; TOO_MANY_REQUESTS past REGISTER_RATE_LIMIT."""

    @abc.abstractmethod
    def hit_reset_request(self, account_key: str, address: str | None) -> None:
        """Count a password-reset request, per address and per account; TOO_MANY_REQUESTS
        past RESET_REQUEST_RATE_LIMIT for either."""

    @abc.abstractmethod
    def hit_verify_request(self, account_key: str, address: str | None) -> None:
        """Count a request for a new verification mail, per address and per account;
        TOO_MANY_REQUESTS past VERIFY_REQUEST_RATE_LIMIT for either."""


class DisabledLoginThrottle(LoginThrottle):
    """RATE_LIMIT_ENABLED=false: nothing is counted and nothing is refused."""

    def account_key(self, user_id: int | None, sign_in_name: str) -> str:
        return ""

    def begin(self, account_key: str, address: str | None) -> LoginAttempt:
        return UncountedAttempt()

    def hit_registration(self, address: str | None) -> None:
        return None

    def hit_reset_request(self, account_key: str, address: str | None) -> None:
        return None

    def hit_verify_request(self, account_key: str, address: str | None) -> None:
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
        if not isinstance(storage, MovingWindowSupport) or not isinstance(
            storage, ReleasableEntries
        ):
            raise TypeError("the storage must support moving windows and giving entries back")
        self.storage: ReleasableEntries = storage
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

    def begin(self, account_key: str, address: str | None) -> LoginAttempt:
        windows = self._identifiers(account_key, address)
        taken: list[LimitName] = []
        last_places: list[LimitName] = []
        waits: list[int] = []
        with store_outage_is_unavailable():
            for name, identifiers in windows.items():
                item = self.items[name]
                if waits:
                    # Once refused, only look: places a refused attempt took, even for a
                    # moment, could refuse another attempt that the limits allow.
                    if not self.limiter.test(item, *identifiers):
                        waits.append(self._retry_after(item, identifiers))
                elif self.limiter.hit(item, *identifiers):
                    taken.append(name)
                    if not self.limiter.test(item, *identifiers):
                        last_places.append(name)
                else:
                    waits.append(self._retry_after(item, identifiers))
            if waits:
                for name in taken:
                    self._give_back(name, windows[name])
        if waits:
            raise TooManyRequestsError(retry_after=max(waits))
        return CountedAttempt(self, windows, last_places)

    def _give_back(self, name: LimitName, identifiers: Sequence[str]) -> None:
        """Remove one entry from this window (the newest: only the count matters)."""
        self.storage.release_entry(self.items[name].key_for(*identifiers))

    def _settle_success(self, windows: dict[LimitName, list[str]]) -> None:
        with store_outage_is_unavailable():
            self.limiter.clear(self.items[LimitName.PAIR], *windows[LimitName.PAIR])
            for name in (LimitName.ACCOUNT, LimitName.ADDRESS):
                self._give_back(name, windows[name])

    def _settle_abandoned(self, windows: dict[LimitName, list[str]]) -> None:
        with store_outage_is_unavailable():
            for name, identifiers in windows.items():
                self._give_back(name, identifiers)

    def hit_registration(self, address: str | None) -> None:
        self._hit_all(self.limits.register, [["register", address_bucket(address)]])

    def hit_reset_request(self, account_key: str, address: str | None) -> None:
        windows = [["reset-address", address_bucket(address)], ["reset-account", account_key]]
        self._hit_all(self.limits.reset_request, windows)

    def hit_verify_request(self, account_key: str, address: str | None) -> None:
        windows = [["verify-address", address_bucket(address)], ["verify-account", account_key]]
        self._hit_all(self.limits.verify_request, windows)

    def _hit_all(self, items: Sequence[RateLimitItem], windows: list[list[str]]) -> None:
        waits: list[int] = []
        with store_outage_is_unavailable():
            for item in items:
                for identifiers in windows:
                    if not self.limiter.hit(item, *identifiers):
                        waits.append(self._retry_after(item, identifiers))
        if waits:
            raise TooManyRequestsError(retry_after=max(waits))


class CountedAttempt(LoginAttempt):
    def __init__(
        self,
        throttle: LimitsLoginThrottle,
        windows: dict[LimitName, list[str]],
        last_places: list[LimitName],
    ) -> None:
        self.throttle = throttle
        self.windows = windows
        self.last_places = last_places
        self.settled = False

    def failed(self) -> list[LimitName]:
        self.settled = True
        return list(self.last_places)

    def succeeded(self) -> None:
        self.settled = True
        self.throttle._settle_success(self.windows)

    def abandon(self) -> None:
        if not self.settled:
            self.settled = True
            self.throttle._settle_abandoned(self.windows)


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
    storage = ReleasableRedisStorage(
        url, connection_pool=client.connection_pool, key_prefix=key_prefix
    )
    return LimitsLoginThrottle(storage, limits, time.time, name_key_secret)
