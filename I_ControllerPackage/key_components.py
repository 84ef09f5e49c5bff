"""The composition of the signing keys: which key ring verifies and signs (the HMAC secret, a
PEM file, or the database's keys behind a per-process cache), and the key policy the key
service follows. Built once per application (app_factory) or command (scripts.manage)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from A_DatabasePackage.settings import Settings
from B_EntityPackage.domain import Clock
from E_SecurityPackage.jwk_keys import KeyEncryptor, is_asymmetric
from E_SecurityPackage.key_ring import (
    CachedKeyRing,
    KeyRing,
    StaticKeyRing,
    StoredKey,
    hmac_token_key,
    pem_key_ring,
)
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from H_ServiceImplementationPackage.signing_key_service_implementation import (
    KeyPolicy,
    SigningKeyService,
)

RETIREMENT_SLACK = timedelta(minutes=2)
"""Beyond the token lifetime, how long a retired key still verifies: clock skew between
instances, and a token issued in the instant of the switch."""


def keys_in_database(settings: Settings) -> bool:
    return is_asymmetric(settings.JWT_ALGORITHM) and settings.JWT_PRIVATE_KEY_FILE is None


def key_policy(settings: Settings) -> KeyPolicy:
    """A new key signs one JWKS cache lifetime plus one key-cache lifetime after it is made,
    so every consumer (and every worker of ours) has it by then."""
    encryptor = (
        KeyEncryptor(settings.signing_key_encryption_key()) if keys_in_database(settings) else None
    )
    return KeyPolicy(
        algorithm=settings.JWT_ALGORITHM,
        encryptor=encryptor,
        publish_delay=timedelta(
            seconds=settings.JWKS_MAX_AGE_SECONDS + settings.SIGNING_KEY_CACHE_SECONDS
        ),
        retired_grace=timedelta(minutes=settings.ACCESS_TOKEN_EXPIRE_MINUTES) + RETIREMENT_SLACK,
    )


def build_key_ring(
    settings: Settings,
    clock: Clock,
    policy: KeyPolicy,
    new_unit_of_work: Callable[[], AbstractUnitOfWork] | None,
) -> KeyRing:
    """`new_unit_of_work` None: no database at hand (a command that issues no token)."""
    algorithm = settings.JWT_ALGORITHM
    if not is_asymmetric(algorithm):
        return StaticKeyRing(hmac_token_key(settings.secret_key(), algorithm))
    if settings.JWT_PRIVATE_KEY_FILE is not None:
        return pem_key_ring(settings.JWT_PRIVATE_KEY_FILE.read_bytes(), algorithm)
    opened = new_unit_of_work

    def load() -> tuple[StoredKey, ...]:
        if opened is None:
            return ()
        return SigningKeyService(opened(), clock, policy).stored_keys()

    return CachedKeyRing(
        load, clock, policy.retired_grace, ttl_seconds=settings.SIGNING_KEY_CACHE_SECONDS
    )
