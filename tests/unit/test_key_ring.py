"""The key ring on its own: states from times, the per-process cache and its rate-bound
refresh on an unknown kid, key material checks, and the production refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import ValidationError

from A_DatabasePackage.settings import Settings
from E_SecurityPackage.jwk_keys import (
    KeyEncryptor,
    KeyMaterialError,
    generate_private_key,
    load_private_pem,
    private_pem,
    public_jwk,
    thumbprint,
)
from E_SecurityPackage.key_ring import CachedKeyRing, KeySchedule, KeyState, StoredKey
from tests.jwks_support import ENCRYPTION_KEY
from tests.support import FixedClock

START = datetime(2026, 12, 1, tzinfo=UTC)
GRACE = timedelta(minutes=17)


def stored(name: str, activates: timedelta, revoked: timedelta | None = None) -> StoredKey:
    private = generate_private_key("ES256")
    public = public_jwk(private)
    return StoredKey(
        kid=thumbprint(public) if name == "" else name,
        algorithm="ES256",
        public_jwk=public,
        private_pem=private_pem(private),
        created_at=START,
        activates_at=START + activates,
        revoked_at=None if revoked is None else START + revoked,
    )


def test_states_follow_from_the_times() -> None:
    old, new = stored("old", timedelta(0)), stored("new", timedelta(minutes=10))
    schedule = KeySchedule((old, new), GRACE)

    def states(at: timedelta) -> dict[str, KeyState]:
        return {s.key.kid: s.state for s in schedule.statuses(START + at)}

    assert states(timedelta(minutes=5)) == {"old": KeyState.ACTIVE, "new": KeyState.STANDBY}
    assert states(timedelta(minutes=10)) == {"old": KeyState.RETIRED, "new": KeyState.ACTIVE}
    assert schedule.verifier("old", START + timedelta(minutes=26)) is old
    assert schedule.verifier("old", START + timedelta(minutes=27)) is None
    assert [k.kid for k in schedule.published(START + timedelta(minutes=5))] == ["old", "new"]
    assert [k.kid for k in schedule.published(START + timedelta(minutes=30))] == ["new"]
    revoked = KeySchedule((old, stored("new", timedelta(0), revoked=timedelta(seconds=1))), GRACE)
    assert revoked.signer(START + timedelta(minutes=1)) is old
    assert revoked.verifier("new", START + timedelta(minutes=1)) is None


def test_an_unknown_kid_reloads_at_most_once_per_interval() -> None:
    key = stored("", timedelta(0))
    loads: list[float] = []
    now = [100.0]

    def load() -> tuple[StoredKey, ...]:
        loads.append(now[0])
        return (key,)

    ring = CachedKeyRing(
        load, FixedClock(START), GRACE, ttl_seconds=30, refresh_interval=2, monotonic=lambda: now[0]
    )
    assert ring.verification_key(key.kid) is not None
    for _ in range(50):
        assert ring.verification_key("forged-kid") is None
    assert len(loads) == 1
    now[0] += 2
    assert ring.verification_key("forged-kid") is None
    assert ring.verification_key("forged-kid") is None
    assert len(loads) == 2
    now[0] += 30  # the cache lifetime: read again even for a known kid
    assert ring.signing_key().kid == key.kid
    assert len(loads) == 3


def test_a_failed_reload_keeps_the_cached_keys() -> None:
    key = stored("", timedelta(0))
    now = [0.0]
    answers: list[Any] = [(key,), RuntimeError("database down")]

    def load() -> tuple[StoredKey, ...]:
        answer = answers.pop(0) if answers else (key,)
        if isinstance(answer, Exception):
            raise answer
        return tuple(answer)

    ring = CachedKeyRing(load, FixedClock(START), GRACE, 30, monotonic=lambda: now[0])
    assert ring.signing_key().kid == key.kid
    now[0] += 31
    assert ring.signing_key().kid == key.kid


def test_key_material_checks() -> None:
    encryptor = KeyEncryptor("e" * 40)
    sealed = encryptor.encrypt("secret pem", "kid-1")
    assert "secret" not in sealed
    assert encryptor.decrypt(sealed, "kid-1") == "secret pem"
    with pytest.raises(KeyMaterialError):
        encryptor.decrypt(sealed, "kid-2")  # moved to another row
    with pytest.raises(KeyMaterialError):
        KeyEncryptor("f" * 40).decrypt(sealed, "kid-1")
    p384 = private_pem(ec.generate_private_key(ec.SECP384R1()))
    small_rsa = private_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024))  # noqa: S505
    for pem, algorithm in ((p384, "ES256"), (small_rsa, "RS256"), ("junk", "ES256")):
        with pytest.raises(KeyMaterialError):
            load_private_pem(pem, algorithm)


def test_rfc_7638_thumbprint_example() -> None:
    """The example of RFC 7638 section 3.1."""
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6"
        "tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65Y"
        "GjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
        "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
    }
    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"JWT_ALGORITHM": "ES256"}, "needs a key source"),
        (
            {"JWT_ALGORITHM": "ES256", "SIGNING_KEY_ENCRYPTION_KEY": "a" * 64},
            "SIGNING_KEY_ENCRYPTION_KEY holds fewer",
        ),
        (
            {"JWT_ALGORITHM": "ES256", "SIGNING_KEY_ENCRYPTION_KEY": ENCRYPTION_KEY},
            "SIGNING_KEY_ENCRYPTION_KEY is a value published",
        ),
    ],
)
def test_production_refuses_an_asymmetric_algorithm_without_a_usable_key_source(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(
            _env_file=None,
            APP_ENV="production",
            SECRET_KEY="Zx9-" + "qW3eR5tY7uI9oP1aS3dF5gH7jK9lZ2xC4vB6nM8" + "_AbCdEf",
            REDIS_URL="redis://127.0.0.1:6379/0",
            **values,
        )


def test_production_accepts_a_pem_file(tmp_path: Path) -> None:
    pem = tmp_path / "signing.pem"
    pem.write_text(private_pem(generate_private_key("ES256")))
    settings = Settings(
        _env_file=None,
        APP_ENV="production",
        SECRET_KEY="Zx9-" + "qW3eR5tY7uI9oP1aS3dF5gH7jK9lZ2xC4vB6nM8" + "_AbCdEf",
        REDIS_URL="redis://127.0.0.1:6379/0",
        JWT_ALGORITHM="ES256",
        JWT_PRIVATE_KEY_FILE=pem,
    )
    assert pem == settings.JWT_PRIVATE_KEY_FILE
