"""What `APP_ENV=production` refuses to start with, each with a message that says what to do.

- a SECRET_KEY that cannot hold 256 bits (too short for its alphabet, a repeated piece, few
  distinct characters), or a value published in this repository;
- Argon2id parameters below OWASP's minimum (the weakest of its listed configurations:
  7 MiB with 5 passes; or, trading memory for passes, memory x passes of at least 7168 x 5);
- several workers counting rate limits in their own memory (no REDIS_URL) while limits are on,
  unless ALLOW_PROCESS_LOCAL_LIMITS says that is intended;
- ES256/RS256 with no key source (neither SIGNING_KEY_ENCRYPTION_KEY nor JWT_PRIVATE_KEY_FILE),
  or a SIGNING_KEY_ENCRYPTION_KEY held to less than SECRET_KEY's standard.
"""

from __future__ import annotations

import math
import string
from pathlib import Path

MIN_SECRET_KEY_BITS = 256
OWASP_MIN_ARGON2_MEMORY_KIB = 7168
OWASP_MIN_ARGON2_MEMORY_TIMES_PASSES = 7168 * 5
BASE64URL = frozenset(string.ascii_letters + string.digits + "-_=")
HEX = frozenset(string.hexdigits)
PUBLISHED_SECRET_KEYS = frozenset(
    {
        "test-secret-key-that-is-long-enough-0123456789",
        "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "signing-key-encryption-key-for-tests-0123456789",
    }
)
"""Keys written in this repository's tests and benchmark: public, so never a production key."""


FEW_DISTINCT_CHARACTERS = 10


def is_periodic(key: str) -> bool:
    """The key is a shorter piece repeated (`abcabcabc...`)."""
    return any(
        key == (key[:period] * (len(key) // period + 1))[: len(key)]
        for period in range(1, len(key) // 2 + 1)
    )


def secret_key_bits(key: str) -> float:
    """An estimate of the key's strength: none for a repeated piece; else its length times the
    bits of the smallest alphabet its characters fit in (hex 4, base64url 6, else printable
    ASCII), or of the characters it uses when they are few."""
    if is_periodic(key):
        return 0.0
    distinct = set(key)
    if len(distinct) < FEW_DISTINCT_CHARACTERS:
        per_character = math.log2(max(len(distinct), 1))
    elif distinct <= HEX:
        per_character = 4.0
    elif distinct <= BASE64URL:
        per_character = 6.0
    else:
        per_character = math.log2(95)
    return len(key) * per_character


def secret_key_problem(key: str) -> str | None:
    if key in PUBLISHED_SECRET_KEYS:
        return "SECRET_KEY is a value published in this repository; generate a new one"
    if secret_key_bits(key) < MIN_SECRET_KEY_BITS:
        return (
            f"SECRET_KEY holds fewer than {MIN_SECRET_KEY_BITS} bits (too short, or too few "
            "distinct characters); generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    return None


def argon2_problem(memory_kib: int, time_cost: int) -> str | None:
    if (
        memory_kib < OWASP_MIN_ARGON2_MEMORY_KIB
        or memory_kib * time_cost < OWASP_MIN_ARGON2_MEMORY_TIMES_PASSES
    ):
        return (
            "ARGON2_MEMORY_KIB and ARGON2_TIME_COST are below OWASP's minimum for Argon2id "
            "(for example 19456 and 2, the defaults)"
        )
    return None


def process_local_limits_problem(
    workers: int, redis_url: str | None, limits_on: bool, allowed: bool
) -> str | None:
    if workers > 1 and redis_url is None and limits_on and not allowed:
        return (
            f"WEB_CONCURRENCY={workers} without REDIS_URL: each worker would count failed "
            "sign-ins in its own memory, so the limits would be that many times looser; set "
            "REDIS_URL, or ALLOW_PROCESS_LOCAL_LIMITS=true if that is intended"
        )
    return None


def key_source_problem(
    algorithm: str, private_key_file: Path | None, encryption_key_set: bool
) -> str | None:
    """What APP_ENV=production refuses about the signing keys."""
    if algorithm in ("HS256", "HS384", "HS512"):
        return None
    if private_key_file is None and not encryption_key_set:
        return (
            f"JWT_ALGORITHM={algorithm} needs a key source: SIGNING_KEY_ENCRYPTION_KEY (keys "
            "kept encrypted in the database, rotated by `python -m scripts.manage keys "
            "rotate`) or JWT_PRIVATE_KEY_FILE (a PEM file)"
        )
    return None


def encryption_key_problem(key: str | None) -> str | None:
    """SIGNING_KEY_ENCRYPTION_KEY held to SECRET_KEY's standard (256 bits, not published)."""
    problem = None if key is None else secret_key_problem(key)
    return None if problem is None else problem.replace("SECRET_KEY", "SIGNING_KEY_ENCRYPTION_KEY")
