"""The login throttle on its own: moving windows over the clock-driven memory storage (with a
FakeClock) and over the real Redis (with a short real window), keys, and outages."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from limits import RateLimitItemPerSecond

from A_DatabasePackage.abuse_settings import parse_rate_limits
from D_CustomExceptionPackage.errors import ServiceUnavailableError, TooManyRequestsError
from E_SecurityPackage.login_throttle import (
    DisabledLoginThrottle,
    LimitName,
    LimitsLoginThrottle,
    LoginThrottle,
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


def fail(throttle: LoginThrottle, key: str, address: str, times: int) -> list[LimitName]:
    """`times` wrong passwords, one after the other; the limits they filled."""
    filled: list[LimitName] = []
    for _ in range(times):
        with throttle.attempt(key, address) as attempt:
            filled.extend(attempt.failed())
    return filled


def succeed(throttle: LoginThrottle, key: str, address: str) -> None:
    with throttle.attempt(key, address) as attempt:
        attempt.succeeded()


def check(throttle: LoginThrottle, key: str, address: str) -> None:
    """Raise TOO_MANY_REQUESTS if an attempt would be refused now (else it is given back)."""
    with throttle.attempt(key, address):
        pass


def test_the_pair_limit_locks_after_max_failures_until_the_window_passes(
    throttle: LimitsLoginThrottle, clock: FakeClock
) -> None:
    assert fail(throttle, "user:1", "192.0.2.1", 3) == [LimitName.PAIR]
    with pytest.raises(TooManyRequestsError) as refused:
        check(throttle, "user:1", "192.0.2.1")
    assert refused.value.retry_after == 900
    clock.advance(seconds=600)
    with pytest.raises(TooManyRequestsError) as still:
        check(throttle, "user:1", "192.0.2.1")
    assert still.value.retry_after == 300
    clock.advance(seconds=300)
    check(throttle, "user:1", "192.0.2.1")


def test_the_window_moves_one_failure_at_a_time(
    throttle: LimitsLoginThrottle, clock: FakeClock
) -> None:
    fail(throttle, "user:1", "192.0.2.1", 1)
    clock.advance(seconds=100)
    fail(throttle, "user:1", "192.0.2.1", 2)
    with pytest.raises(TooManyRequestsError) as refused:
        check(throttle, "user:1", "192.0.2.1")
    assert refused.value.retry_after == 800  # when the first failure leaves the window
    clock.advance(seconds=800)
    check(throttle, "user:1", "192.0.2.1")
    fail(throttle, "user:1", "192.0.2.1", 1)
    with pytest.raises(TooManyRequestsError):
        check(throttle, "user:1", "192.0.2.1")


def test_another_address_is_not_locked_out_by_the_pair_limit(
    throttle: LimitsLoginThrottle,
) -> None:
    fail(throttle, "user:1", "192.0.2.1", 3)
    check(throttle, "user:1", "198.51.100.2")


def test_the_account_limit_counts_every_address(throttle: LimitsLoginThrottle) -> None:
    filled = fail(throttle, "user:1", "192.0.2.1", 2)
    filled += fail(throttle, "user:1", "192.0.2.2", 2)
    filled += fail(throttle, "user:1", "192.0.2.3", 1)
    assert filled == [LimitName.ACCOUNT]
    with pytest.raises(TooManyRequestsError):
        check(throttle, "user:1", "203.0.113.99")
    check(throttle, "user:2", "203.0.113.99")


def test_the_address_limit_counts_every_account(throttle: LimitsLoginThrottle) -> None:
    filled: list[LimitName] = []
    for user in range(6):
        filled += fail(throttle, f"user:{user}", "192.0.2.1", 1)
    assert filled == [LimitName.ADDRESS]
    with pytest.raises(TooManyRequestsError):
        check(throttle, "user:77", "192.0.2.1")
    check(throttle, "user:77", "192.0.2.2")


def test_success_clears_only_the_pair_counter(throttle: LimitsLoginThrottle) -> None:
    fail(throttle, "user:1", "192.0.2.1", 2)
    succeed(throttle, "user:1", "192.0.2.1")
    fail(throttle, "user:1", "192.0.2.1", 2)
    check(throttle, "user:1", "192.0.2.1")  # 2 since the success, not 4
    fail(throttle, "user:1", "192.0.2.9", 1)
    with pytest.raises(TooManyRequestsError):  # the account counter kept all 5
        check(throttle, "user:1", "192.0.2.200")


def test_attempts_in_flight_hold_their_places(throttle: LimitsLoginThrottle) -> None:
    """Three wrong passwords being hashed at once fill the pair limit of three: a fourth is
    refused before its hash, and stays refused once they have failed."""
    in_flight = [throttle.begin("user:1", "192.0.2.1") for _ in range(3)]
    with pytest.raises(TooManyRequestsError):
        throttle.begin("user:1", "192.0.2.1")
    filled = [limit for attempt in in_flight for limit in attempt.failed()]
    assert filled == [LimitName.PAIR]
    with pytest.raises(TooManyRequestsError):
        check(throttle, "user:1", "192.0.2.1")


def test_an_attempt_settled_neither_way_gives_its_places_back(
    throttle: LimitsLoginThrottle,
) -> None:
    in_flight = [throttle.begin("user:1", "192.0.2.1") for _ in range(3)]
    in_flight[0].abandon()
    with throttle.attempt("user:1", "192.0.2.1"):
        pass  # a disabled account, an outage: settled neither way
    assert fail(throttle, "user:1", "192.0.2.1", 1) == [LimitName.PAIR]
    assert in_flight[1].failed() == []


def test_a_refused_attempt_takes_no_place(throttle: LimitsLoginThrottle) -> None:
    fail(throttle, "user:1", "192.0.2.1", 3)  # the pair is full; the account holds 3 of 5
    for _ in range(10):
        with pytest.raises(TooManyRequestsError):
            check(throttle, "user:1", "192.0.2.1")
    assert fail(throttle, "user:1", "192.0.2.2", 1) == []
    assert fail(throttle, "user:1", "192.0.2.3", 1) == [LimitName.ACCOUNT]


def test_right_passwords_do_not_use_up_the_wider_limits(throttle: LimitsLoginThrottle) -> None:
    """The account (5) and address (6) windows count failures only: a success gives back the
    places its attempt held."""
    for index in range(20):
        succeed(throttle, "user:1", f"192.0.2.{index}")
        succeed(throttle, f"user:{index + 10}", "198.51.100.1")
    assert fail(throttle, "user:1", "192.0.2.50", 2) == []
    assert fail(throttle, "user:1", "192.0.2.51", 2) == []
    assert fail(throttle, "user:1", "192.0.2.52", 1) == [LimitName.ACCOUNT]
    assert fail(throttle, "user:99", "198.51.100.1", 3) == [LimitName.PAIR]


def test_a_burst_from_threads_checks_no_more_passwords_than_the_limit(
    throttle: LimitsLoginThrottle,
) -> None:
    admitted = burst(throttle, attempts=40)
    assert admitted == 3


def burst(throttle: LoginThrottle, attempts: int) -> int:
    """`attempts` threads each try one wrong password for one account from one address at
    once, holding their place a moment as a hash would; how many were let through."""
    barrier = threading.Barrier(attempts)

    def one() -> bool:
        barrier.wait(timeout=10)
        try:
            with throttle.attempt("user:1", "192.0.2.1") as attempt:
                time.sleep(0.05)
                attempt.failed()
        except TooManyRequestsError:
            return False
        return True

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        return sum(pool.map(lambda _: one(), range(attempts)))


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
        check(throttle, "user:99", "2001:db8:1:2:ffff::1")
    check(throttle, "user:99", "2001:db8:1:3::1")


def test_disabled_throttle_never_refuses() -> None:
    throttle = DisabledLoginThrottle()
    for _ in range(1000):
        check(throttle, "user:1", "192.0.2.1")
        assert fail(throttle, "user:1", "192.0.2.1", 1) == []
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
    fail(first, "user:1", "192.0.2.1", 1)
    fail(second, "user:1", "192.0.2.1", 1)
    assert fail(first, "user:1", "192.0.2.1", 1) == [LimitName.PAIR]
    with pytest.raises(TooManyRequestsError) as refused:
        check(second, "user:1", "192.0.2.1")
    assert refused.value.retry_after in (1, 2)
    keys = list(redis_client.scan_iter(match=f"{prefix}:*"))
    assert keys
    assert all(redis_client.ttl(key) in (1, 2) for key in keys)  # they clean themselves up
    deadline = time.monotonic() + 10
    while True:
        try:
            check(second, "user:1", "192.0.2.1")
            break
        except TooManyRequestsError:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    check(first, "user:1", "192.0.2.1")


def test_redis_success_clears_the_pair(redis_client: redis.Redis, redis_url: str) -> None:
    throttle = redis_throttle(redis_client, redis_url, LIMITS, f"auth-test:{secrets.token_hex(6)}")
    fail(throttle, "user:1", "192.0.2.1", 2)
    succeed(throttle, "user:1", "192.0.2.1")
    fail(throttle, "user:1", "192.0.2.1", 2)
    check(throttle, "user:1", "192.0.2.1")


def test_redis_bursts_from_two_workers_check_no_more_passwords_than_the_limit(
    redis_client: redis.Redis, redis_url: str
) -> None:
    prefix = f"auth-test:{secrets.token_hex(6)}"
    workers = [redis_throttle(redis_client, redis_url, LIMITS, prefix) for _ in range(2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        admitted = sum(pool.map(lambda worker: burst(worker, attempts=20), workers))
    assert admitted == 3


def test_redis_attempts_give_back_their_places(redis_client: redis.Redis, redis_url: str) -> None:
    prefix = f"auth-test:{secrets.token_hex(6)}"
    throttle = redis_throttle(redis_client, redis_url, LIMITS, prefix)
    for index in range(10):
        succeed(throttle, "user:1", f"192.0.2.{index}")
    abandoned = throttle.begin("user:1", "192.0.2.99")
    abandoned.abandon()
    assert fail(throttle, "user:1", "192.0.2.50", 2) == []
    assert fail(throttle, "user:1", "192.0.2.51", 2) == []
    assert fail(throttle, "user:1", "192.0.2.52", 1) == [LimitName.ACCOUNT]


def test_redis_outage_fails_closed() -> None:
    client = redis_client_from_url("redis://127.0.0.1:1/0")
    throttle = redis_login_throttle(client, "redis://127.0.0.1:1/0", LIMITS, SECRET, "auth-test")
    for call in (
        lambda: check(throttle, "user:1", "192.0.2.1"),
        lambda: fail(throttle, "user:1", "192.0.2.1", 1),
        lambda: succeed(throttle, "user:1", "192.0.2.1"),
        lambda: throttle.hit_registration("192.0.2.1"),
    ):
        with pytest.raises(ServiceUnavailableError):
            call()
    client.close()
