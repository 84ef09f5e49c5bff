"""The login throttle on its own: moving windows over the clock-driven memory storage (with a
FakeClock) and over the real Redis (with a short real window), keys, and outages."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest
import redis
from limits import RateLimitItemPerSecond

from A_DatabasePackage.settings import parse_rate_limits
from D_CustomExceptionPackage.errors import ServiceUnavailableError, TooManyRequestsError
from E_SecurityPackage.login_throttle import (
    DisabledLoginThrottle,
    LimitName,
    LimitsLoginThrottle,
    ThrottleLimits,
    address_bucket,
    memory_login_throttle,
    redis_login_throttle,
)
from E_SecurityPackage.rate_limit_storage import SWEEP_EVERY, ClockMemoryStorage
from F_RepositoryPackage.token_denylist import redis_client_from_url
from tests.support import FakeClock

SECRET = b"k" * 32
LIMITS = ThrottleLimits(
    window_seconds=900,
    max_failures=3,
    max_failures_per_account=5,
    max_failures_per_address=6,
    register=parse_rate_limits("2/minute"),
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def throttle(clock: FakeClock) -> LimitsLoginThrottle:
    return memory_login_throttle(LIMITS, clock, SECRET)


def fail(throttle: LimitsLoginThrottle, key: str, address: str, times: int) -> list[LimitName]:
    filled: list[LimitName] = []
    for _ in range(times):
        throttle.check(key, address)
        filled.extend(throttle.record_failure(key, address))
    return filled


def test_the_pair_limit_locks_after_max_failures_until_the_window_passes(
    throttle: LimitsLoginThrottle, clock: FakeClock
) -> None:
    assert fail(throttle, "user:1", "192.0.2.1", 3) == [LimitName.PAIR]
    with pytest.raises(TooManyRequestsError) as refused:
        throttle.check("user:1", "192.0.2.1")
    assert refused.value.retry_after == 900
    clock.advance(seconds=600)
    with pytest.raises(TooManyRequestsError) as still:
        throttle.check("user:1", "192.0.2.1")
    assert still.value.retry_after == 300
    clock.advance(seconds=300)
    throttle.check("user:1", "192.0.2.1")


def test_the_window_moves_one_failure_at_a_time(
    throttle: LimitsLoginThrottle, clock: FakeClock
) -> None:
    fail(throttle, "user:1", "192.0.2.1", 1)
    clock.advance(seconds=100)
    fail(throttle, "user:1", "192.0.2.1", 2)
    with pytest.raises(TooManyRequestsError) as refused:
        throttle.check("user:1", "192.0.2.1")
    assert refused.value.retry_after == 800  # when the first failure leaves the window
    clock.advance(seconds=800)
    throttle.check("user:1", "192.0.2.1")
    fail(throttle, "user:1", "192.0.2.1", 1)
    with pytest.raises(TooManyRequestsError):
        throttle.check("user:1", "192.0.2.1")


def test_another_address_is_not_locked_out_by_the_pair_limit(
    throttle: LimitsLoginThrottle,
) -> None:
    fail(throttle, "user:1", "192.0.2.1", 3)
    throttle.check("user:1", "198.51.100.2")


def test_the_account_limit_counts_every_address(throttle: LimitsLoginThrottle) -> None:
    filled = fail(throttle, "user:1", "192.0.2.1", 2)
    filled += fail(throttle, "user:1", "192.0.2.2", 2)
    filled += fail(throttle, "user:1", "192.0.2.3", 1)
    assert filled == [LimitName.ACCOUNT]
    with pytest.raises(TooManyRequestsError):
        throttle.check("user:1", "203.0.113.99")
    throttle.check("user:2", "203.0.113.99")


def test_the_address_limit_counts_every_account(throttle: LimitsLoginThrottle) -> None:
    filled: list[LimitName] = []
    for user in range(6):
        filled += fail(throttle, f"user:{user}", "192.0.2.1", 1)
    assert filled == [LimitName.ADDRESS]
    with pytest.raises(TooManyRequestsError):
        throttle.check("user:77", "192.0.2.1")
    throttle.check("user:77", "192.0.2.2")


def test_success_clears_only_the_pair_counter(throttle: LimitsLoginThrottle) -> None:
    fail(throttle, "user:1", "192.0.2.1", 2)
    throttle.record_success("user:1", "192.0.2.1")
    fail(throttle, "user:1", "192.0.2.1", 2)
    throttle.check("user:1", "192.0.2.1")  # 2 since the success, not 4
    fail(throttle, "user:1", "192.0.2.9", 1)
    with pytest.raises(TooManyRequestsError):  # the account counter kept all 5
        throttle.check("user:1", "192.0.2.200")


def test_registration_is_limited_per_address(
    throttle: LimitsLoginThrottle, clock: FakeClock
) -> None:
    throttle.hit_registration("192.0.2.1")
    throttle.hit_registration("192.0.2.1")
    with pytest.raises(TooManyRequestsError) as refused:
        throttle.hit_registration("192.0.2.1")
    assert refused.value.retry_after == 60
    throttle.hit_registration("192.0.2.2")
    clock.advance(seconds=60)
    throttle.hit_registration("192.0.2.1")


def test_several_registration_limits_all_apply(clock: FakeClock) -> None:
    limits = ThrottleLimits(900, 3, 5, 6, parse_rate_limits("3/minute;4/hour"))
    throttle = memory_login_throttle(limits, clock, SECRET)
    for _ in range(3):
        throttle.hit_registration("192.0.2.1")
    clock.advance(seconds=61)
    throttle.hit_registration("192.0.2.1")
    with pytest.raises(TooManyRequestsError) as refused:
        throttle.hit_registration("192.0.2.1")
    assert 3400 < refused.value.retry_after <= 3600 - 61


@pytest.mark.parametrize("value", ["", "ten per minute", "0/minute", "10/fortnight"])
def test_bad_register_rate_limits_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="not a rate limit"):
        parse_rate_limits(value)


def test_account_keys(throttle: LimitsLoginThrottle) -> None:
    assert throttle.account_key(42, "alice") == "user:42"
    unknown = throttle.account_key(None, "Some Password Typed Here")
    assert unknown == throttle.account_key(None, "some password typed here")
    assert unknown.startswith("name:")
    assert "password" not in unknown.lower()
    other_secret = memory_login_throttle(LIMITS, FakeClock(), b"x" * 32)
    assert other_secret.account_key(None, "some password typed here") != unknown


def test_ipv6_addresses_are_counted_per_64() -> None:
    assert address_bucket("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert address_bucket("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert address_bucket("192.0.2.7") == "192.0.2.7"
    assert address_bucket(None) == "unknown"
    assert address_bucket("testclient") == "testclient"


def test_ipv6_neighbours_share_one_address_budget(throttle: LimitsLoginThrottle) -> None:
    for index in range(6):
        fail(throttle, f"user:{index}", f"2001:db8:1:2::{index + 1:x}", 1)
    with pytest.raises(TooManyRequestsError):
        throttle.check("user:99", "2001:db8:1:2:ffff::1")
    throttle.check("user:99", "2001:db8:1:3::1")


def test_disabled_throttle_never_refuses() -> None:
    throttle = DisabledLoginThrottle()
    for _ in range(1000):
        throttle.check("user:1", "192.0.2.1")
        assert throttle.record_failure("user:1", "192.0.2.1") == []
        throttle.hit_registration("192.0.2.1")


def test_memory_storage_sweeps_lapsed_keys(clock: FakeClock) -> None:
    storage = ClockMemoryStorage(clock)
    item = RateLimitItemPerSecond(5, 10)
    for index in range(SWEEP_EVERY - 1):
        assert storage.acquire_entry(item.key_for(str(index)), 5, 10)
    clock.advance(seconds=11)
    storage.acquire_entry("fresh", 5, 10)
    assert set(storage._events) == {"fresh"}


def test_memory_storage_fixed_window_counters(clock: FakeClock) -> None:
    storage = ClockMemoryStorage(clock)
    assert storage.incr("k", 10) == 1
    assert storage.incr("k", 10, amount=2) == 3
    assert storage.get("k") == 3
    assert storage.get_expiry("k") == pytest.approx(clock.now().timestamp() + 10, abs=1)
    clock.advance(seconds=10)
    assert storage.get("k") == 0
    assert storage.incr("k", 10) == 1
    storage.clear("k")
    assert storage.get("k") == 0
    assert storage.check() is True
    storage.acquire_entry("m", 2, 10)
    assert storage.reset() == 1


# --- Redis: the real server, keys under a prefix of this test's own -----------------------


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis_client_from_url(redis_url)
    yield client
    client.close()


def redis_throttle(
    redis_client: redis.Redis, redis_url: str, limits: ThrottleLimits, prefix: str
) -> LimitsLoginThrottle:
    return redis_login_throttle(redis_client, redis_url, limits, SECRET, prefix)


def test_redis_windows_are_shared_and_expire(redis_client: redis.Redis, redis_url: str) -> None:
    prefix = f"auth-test:{secrets.token_hex(6)}"
    short = ThrottleLimits(2, 3, 50, 50, parse_rate_limits("10/minute"))
    first = redis_throttle(redis_client, redis_url, short, prefix)
    second = redis_throttle(redis_client, redis_url, short, prefix)  # another worker
    first.record_failure("user:1", "192.0.2.1")
    second.record_failure("user:1", "192.0.2.1")
    assert first.record_failure("user:1", "192.0.2.1") == [LimitName.PAIR]
    with pytest.raises(TooManyRequestsError) as refused:
        second.check("user:1", "192.0.2.1")
    assert refused.value.retry_after in (1, 2)
    keys = list(redis_client.scan_iter(match=f"{prefix}:*"))
    assert keys
    assert all(redis_client.ttl(key) in (1, 2) for key in keys)  # they clean themselves up
    deadline = time.monotonic() + 10
    while True:
        try:
            second.check("user:1", "192.0.2.1")
            break
        except TooManyRequestsError:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    first.check("user:1", "192.0.2.1")


def test_redis_success_clears_the_pair(redis_client: redis.Redis, redis_url: str) -> None:
    throttle = redis_throttle(redis_client, redis_url, LIMITS, f"auth-test:{secrets.token_hex(6)}")
    fail(throttle, "user:1", "192.0.2.1", 2)
    throttle.record_success("user:1", "192.0.2.1")
    fail(throttle, "user:1", "192.0.2.1", 2)
    throttle.check("user:1", "192.0.2.1")


def test_redis_outage_fails_closed() -> None:
    client = redis_client_from_url("redis://127.0.0.1:1/0")
    throttle = redis_login_throttle(client, "redis://127.0.0.1:1/0", LIMITS, SECRET, "auth-test")
    for call in (
        lambda: throttle.check("user:1", "192.0.2.1"),
        lambda: throttle.record_failure("user:1", "192.0.2.1"),
        lambda: throttle.record_success("user:1", "192.0.2.1"),
        lambda: throttle.hit_registration("192.0.2.1"),
    ):
        with pytest.raises(ServiceUnavailableError):
            call()
    client.close()
