"""APP_ENV=production refuses unsafe settings at start-up with a message saying what to do:
weak or published SECRET_KEYs, Argon2id below OWASP's minimum, several workers counting limits
in their own memory; the development key file is checked when read; HASH_CONCURRENCY's default
follows a container's CPU quota."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from A_DatabasePackage.production_checks import secret_key_bits
from A_DatabasePackage.secret_key_file import load_or_create_secret_key
from A_DatabasePackage.settings import Settings, cgroup_cpu_limit

STRONG_KEY = secrets.token_urlsafe(48)


def production(**values: Any) -> Settings:
    defaults: dict[str, Any] = {
        "APP_ENV": "production",
        "SECRET_KEY": STRONG_KEY,
        "MFA_ENCRYPTION_KEY": secrets.token_urlsafe(48),
        "WEB_CONCURRENCY": 1,
    }
    return Settings(_env_file=None, **{**defaults, **values})


@pytest.mark.parametrize(
    "key",
    [
        secrets.token_urlsafe(32),
        secrets.token_urlsafe(48),
        secrets.token_hex(32),
        secrets.token_bytes(32).hex(),
    ],
)
def test_random_keys_of_256_bits_start(key: str) -> None:
    assert production(SECRET_KEY=key).secret_key() == key


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("k" * 64, "256 bits"),
        ("ab" * 32, "256 bits"),
        ("0123456789abcdef" * 4, "256 bits"),
        ("aaaabbbbccccddddeeeeffff0000111122223333", "256 bits"),
        (secrets.token_hex(20), "256 bits"),  # 160 bits
        ("test-secret-key-that-is-long-enough-0123456789", "published"),
    ],
)
def test_weak_or_published_keys_stop_production(key: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        production(SECRET_KEY=key)
    assert Settings(_env_file=None, APP_ENV="development", SECRET_KEY=key).secret_key() == key


def test_the_estimate_counts_the_alphabet_and_the_repetition() -> None:
    assert secret_key_bits("a" * 100) == 0
    assert secret_key_bits("0123456789abcdef" * 4) == 0
    assert secret_key_bits(secrets.token_hex(32)) == 256
    assert secret_key_bits(secrets.token_urlsafe(32)) >= 256


@pytest.mark.parametrize(
    ("memory_kib", "time_cost", "starts"),
    [
        (19456, 2, True),
        (12288, 3, True),
        (7168, 5, True),
        (47104, 1, True),
        (19456, 1, False),
        (4096, 10, False),
        (1024, 1, False),
    ],
)
def test_argon2_below_owasp_stops_production(memory_kib: int, time_cost: int, starts: bool) -> None:
    values: dict[str, Any] = {"ARGON2_MEMORY_KIB": memory_kib, "ARGON2_TIME_COST": time_cost}
    if starts:
        assert memory_kib == production(**values).ARGON2_MEMORY_KIB
    else:
        with pytest.raises(ValidationError, match="OWASP"):
            production(**values)
    assert time_cost == Settings(_env_file=None, APP_ENV="test", **values).ARGON2_TIME_COST


def test_several_workers_without_redis_stop_production_unless_allowed() -> None:
    with pytest.raises(ValidationError, match="REDIS_URL"):
        production(WEB_CONCURRENCY=4)
    assert production(WEB_CONCURRENCY=4, REDIS_URL="redis://127.0.0.1:6379/0").REDIS_URL
    assert production(WEB_CONCURRENCY=4, ALLOW_PROCESS_LOCAL_LIMITS=True).WEB_CONCURRENCY == 4
    assert production(WEB_CONCURRENCY=4, RATE_LIMIT_ENABLED=False).WEB_CONCURRENCY == 4
    assert production(WEB_CONCURRENCY=1).WEB_CONCURRENCY == 1


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(ValidationError) as refused:
        production(SECRET_KEY="x" * 40, ARGON2_MEMORY_KIB=1024, WEB_CONCURRENCY=2)
    message = str(refused.value)
    assert "SECRET_KEY" in message
    assert "OWASP" in message
    assert "REDIS_URL" in message
    assert "x" * 40 not in message


def test_a_key_file_others_may_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "auth.db.secret_key"
    key = load_or_create_secret_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_secret_key(path) == key
    path.chmod(0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        load_or_create_secret_key(path)


def test_a_short_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "auth.db.secret_key"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("short")
    with pytest.raises(ValueError, match="shorter than 32"):
        load_or_create_secret_key(path)


@pytest.mark.parametrize(
    ("content", "cpus"),
    [("200000 100000\n", 2), ("150000 100000", 2), ("50000 100000", 1), ("max 100000", None)],
)
def test_a_cgroup_cpu_quota_is_read(tmp_path: Path, content: str, cpus: int | None) -> None:
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text(content, encoding="ascii")
    assert cgroup_cpu_limit(cpu_max) == cpus
    assert cgroup_cpu_limit(tmp_path / "missing") is None
