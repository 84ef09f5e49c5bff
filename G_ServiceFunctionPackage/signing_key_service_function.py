"""Signing keys kept in the database: listing, rotation, revocation, and the fresh view the
key ring caches and introspection reads."""

from __future__ import annotations

import abc
from datetime import timedelta

from C_SchemaPackage.key_schemas import RotationOut, SigningKeyOut
from E_SecurityPackage.key_ring import StoredKey


class SigningKeyServiceInterface(abc.ABC):
    @abc.abstractmethod
    def stored_keys(self) -> tuple[StoredKey, ...]:
        """Every stored key, private parts decrypted (for the key ring only)."""

    @abc.abstractmethod
    def ensure_signing_key(self) -> SigningKeyOut | None:
        """Make a key that signs at once when none does (first start, everything revoked)."""

    @abc.abstractmethod
    def list_keys(self) -> list[SigningKeyOut]:
        """Every key, newest first, with the state the time gives it (stored as well)."""

    @abc.abstractmethod
    def rotate(self, if_older_than: timedelta | None = None) -> RotationOut:
        """A new standby key, signing after one JWKS cache lifetime; nothing when the newest
        key is younger than `if_older_than`."""

    @abc.abstractmethod
    def revoke(self, kid: str) -> SigningKeyOut:
        """End the key and every token it signed at once; when it was signing, a new key
        signs at once. Raises KEY_NOT_FOUND."""

    @abc.abstractmethod
    def verifies_now(self, kid: str | None) -> bool:
        """Whether the key still verifies, read fresh (introspection must see revocation)."""
