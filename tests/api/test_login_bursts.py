"""Bursts do not beat the failed-sign-in limits: each attempt is counted before its password is
hashed, so many wrong passwords at once for one account, from one address or both, get no more
password checks than the limit allows; the rest answer 429 without hashing. Right passwords
give their places back and never use up the wider limits."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

from A_DatabasePackage.settings import Settings
from I_ControllerPackage.app_factory import create_app
from tests.api.test_login_lockout import ATTACKER, WRONG, limited, sign_in
from tests.fakes import CountingHasher
from tests.support import STRONG_PASSWORD, FakeClock, bearer, register

BURST = 30


def counted_client(settings: Settings, clock: FakeClock) -> tuple[TestClient, CountingHasher]:
    """The real cost of a hash (OWASP's parameters), so that a burst's checks overlap."""
    app = create_app(settings, clock)
    hasher = CountingHasher(memory_kib=19456, time_cost=2)
    app.state.security = dataclasses.replace(app.state.security, hasher=hasher)
    return TestClient(app, client=("127.0.0.1", 40000)), hasher


def at_once(count: int, request: Callable[[int], Any]) -> Counter[int]:
    """`count` threads send `request(index)` together; the statuses they got."""
    barrier = threading.Barrier(count)

    def one(index: int) -> int:
        barrier.wait(timeout=30)
        status: int = request(index).status_code
        return status

    with ThreadPoolExecutor(max_workers=count) as pool:
        return Counter(pool.map(one, range(count)))


def test_a_burst_for_one_account_from_one_address_checks_five_passwords(
    settings: Settings, clock: FakeClock
) -> None:
    client, hasher = counted_client(limited(settings), clock)
    with client:
        register(client, "alice")
        hasher.calls.clear()
        statuses = at_once(BURST, lambda _: sign_in(client))
        assert statuses == Counter({401: 5, 429: BURST - 5})
        assert hasher.calls.count("verify") == 5
        assert sign_in(client, password=STRONG_PASSWORD).status_code == 429


def test_a_burst_for_one_account_from_many_addresses_keeps_the_account_limit(
    settings: Settings, clock: FakeClock
) -> None:
    tight = limited(settings, LOGIN_MAX_FAILURES=100, LOGIN_MAX_FAILURES_PER_ACCOUNT=6)
    client, hasher = counted_client(tight, clock)
    with client:
        register(client, "alice")
        hasher.calls.clear()
        statuses = at_once(BURST, lambda index: sign_in(client, address=f"192.0.2.{index}"))
        assert statuses == Counter({401: 6, 429: BURST - 6})
        assert hasher.calls.count("verify") == 6


def test_a_burst_from_one_address_over_many_names_keeps_the_address_limit(
    settings: Settings, clock: FakeClock
) -> None:
    tight = limited(settings, LOGIN_MAX_FAILURES=100, LOGIN_MAX_FAILURES_PER_ADDRESS=6)
    client, hasher = counted_client(tight, clock)
    with client:
        statuses = at_once(BURST, lambda index: sign_in(client, f"nobody{index}"))
        assert statuses == Counter({401: 6, 429: BURST - 6})
        assert hasher.calls.count("verify_unknown_user") == 6


def test_a_burst_of_wrong_current_passwords_checks_five(
    settings: Settings, clock: FakeClock
) -> None:
    client, hasher = counted_client(limited(settings), clock)
    with client:
        register(client, "alice")
        token = sign_in(client, password=STRONG_PASSWORD).json()["access_token"]
        hasher.calls.clear()

        def change(_: int) -> Any:
            body = {"new_password": "a whole new passphrase", "current_password": WRONG}
            headers = {**bearer(token), "X-Forwarded-For": ATTACKER}
            return client.put("/update", json=body, headers=headers)

        statuses = at_once(BURST, change)
        assert statuses == Counter({403: 5, 429: BURST - 5})
        assert hasher.calls.count("verify") == 5


def test_right_passwords_at_once_do_not_use_up_the_account_limit(
    settings: Settings, clock: FakeClock
) -> None:
    tight = limited(settings, LOGIN_MAX_FAILURES=100, LOGIN_MAX_FAILURES_PER_ACCOUNT=5)
    client, _ = counted_client(tight, clock)
    with client:
        register(client, "alice")
        statuses = at_once(
            BURST,
            lambda index: sign_in(client, password=STRONG_PASSWORD, address=f"192.0.2.{index}"),
        )
        assert statuses == Counter({200: BURST})
        for index in range(5):
            assert sign_in(client, address=f"198.51.100.{index}").status_code == 401
        assert sign_in(client, address="198.51.100.99").status_code == 429
