"""The [abuse] settings: defaults as the contract names them, parsing, refusals; and the
hashing semaphore they configure."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from pydantic import ValidationError

from A_DatabasePackage.settings import Settings, available_cores
from E_SecurityPackage.password_hashing import PasswordHasher

CORES = available_cores()


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_defaults() -> None:
    defaults = settings()
    assert defaults.RATE_LIMIT_ENABLED is True
    assert defaults.LOGIN_FAILURE_WINDOW_SECONDS == 900
    assert defaults.LOGIN_MAX_FAILURES == 5
    assert defaults.LOGIN_MAX_FAILURES_PER_ACCOUNT == 100
    assert defaults.LOGIN_MAX_FAILURES_PER_ADDRESS == 100
    assert defaults.REGISTER_RATE_LIMIT == "10/minute"
    assert [str(item) for item in defaults.register_rate_limits] == ["10 per 1 minute"]
    assert defaults.WEB_CONCURRENCY == CORES
    assert defaults.hash_concurrency == max(1, CORES // defaults.WEB_CONCURRENCY)
    assert defaults.TRUSTED_PROXIES == ""
    assert defaults.trusted_proxy_networks == ()


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "RATE_LIMIT_ENABLED": "false",
        "LOGIN_FAILURE_WINDOW_SECONDS": "60",
        "LOGIN_MAX_FAILURES": "3",
        "LOGIN_MAX_FAILURES_PER_ACCOUNT": "30",
        "LOGIN_MAX_FAILURES_PER_ADDRESS": "40",
        "REGISTER_RATE_LIMIT": "5/minute;50/day",
        "HASH_CONCURRENCY": "7",
        "TRUSTED_PROXIES": "10.0.0.0/8",
    }.items():
        monkeypatch.setenv(key, value)
    read = settings()
    assert read.RATE_LIMIT_ENABLED is False
    assert (read.LOGIN_FAILURE_WINDOW_SECONDS, read.LOGIN_MAX_FAILURES) == (60, 3)
    assert (read.LOGIN_MAX_FAILURES_PER_ACCOUNT, read.LOGIN_MAX_FAILURES_PER_ADDRESS) == (30, 40)
    assert [item.amount for item in read.register_rate_limits] == [5, 50]
    assert read.hash_concurrency == 7
    assert [str(network) for network in read.trusted_proxy_networks] == ["10.0.0.0/8"]


def test_empty_hash_concurrency_shares_the_cores_among_the_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HASH_CONCURRENCY", "")
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    assert settings().hash_concurrency == CORES
    assert settings(WEB_CONCURRENCY=CORES * 2).hash_concurrency == 1
    if CORES >= 2:
        assert settings(WEB_CONCURRENCY=2).hash_concurrency == CORES // 2


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("LOGIN_FAILURE_WINDOW_SECONDS", 0),
        ("LOGIN_MAX_FAILURES", 0),
        ("LOGIN_MAX_FAILURES_PER_ACCOUNT", -1),
        ("LOGIN_MAX_FAILURES_PER_ADDRESS", 0),
        ("REGISTER_RATE_LIMIT", "lots"),
        ("REGISTER_RATE_LIMIT", "0/minute"),
        ("HASH_CONCURRENCY", 0),
        ("WEB_CONCURRENCY", 0),
        ("TRUSTED_PROXIES", "proxy.internal"),
        ("TRUSTED_PROXIES", "10.0.0.0/33"),
    ],
)
def test_bad_values_stop_the_start(key: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=key):
        settings(**{key: value})


def test_the_hasher_runs_at_most_its_concurrency_at_once() -> None:
    hasher = PasswordHasher(1024, 1, 1, concurrency=2)
    stored = hasher.hash("correct horse battery staple")
    lock = threading.Lock()
    running = 0
    most = 0
    real = hasher._context

    class Watched:
        """The real CryptContext, noting how many computations overlap."""

        def verify_and_update(self, password: str, hashed: str) -> tuple[bool, str | None]:
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.02)
            try:
                result: tuple[bool, str | None] = real.verify_and_update(password, hashed)
                return result
            finally:
                with lock:
                    running -= 1

    hasher._context = Watched()
    threads = [
        threading.Thread(target=hasher.verify, args=("wrong password here", stored))
        for _ in range(12)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert most == 2
    assert PasswordHasher(1024, 1, 1).concurrency == 1
