"""The second factor's primitives: TOTP (RFC 6238, pyotp), its secret encrypted at rest
(AES-256-GCM, rotatable keys), recovery codes and the enrollment QR code (segno, made here).

Secrets are encrypted with a key ring: the current key encrypts, every key (the current one
and MFA_ENCRYPTION_OLD_KEYS) decrypts. Each ciphertext is stored with the id of its key, a
fingerprint derived from the key (HKDF, its own label), so it names the key without revealing
it. The ciphertext is bound to its account (associated data), so a row copied onto another
account does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
TOTP_DRIFT_STEPS = 1  # the step before and the step after are accepted too
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_GROUPS = 4  # xxxx-xxxx-xxxx-xxxx: 16 base32 characters, 80 random bits
RECOVERY_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1
NONCE_BYTES = 12
KEY_ID_LENGTH = 16


class SecretDecryptionError(Exception):
    """A stored secret whose key is not configured, or that does not decrypt."""


def _derive(material: str, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(
        material.encode("utf-8")
    )


@dataclass(frozen=True)
class EncryptedSecret:
    key_id: str
    ciphertext: str


class SecretBox:
    """AES-256-GCM with a key ring; `current` encrypts, all of them decrypt."""

    def __init__(self, current: str, old: Sequence[str] = ()) -> None:
        self._keys: dict[str, AESGCM] = {}
        self.current_key_id = self._add(current)
        for material in old:
            self._add(material)

    def _add(self, material: str) -> str:
        key_id = _derive(material, b"auth-service mfa key id").hex()[:KEY_ID_LENGTH]
        self._keys.setdefault(key_id, AESGCM(_derive(material, b"auth-service mfa aes-gcm")))
        return key_id

    def encrypt(self, plaintext: str, bound_to: str) -> EncryptedSecret:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._keys[self.current_key_id].encrypt(
            nonce, plaintext.encode("utf-8"), bound_to.encode("utf-8")
        )
        return EncryptedSecret(
            self.current_key_id, base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
        )

    def decrypt(self, stored: EncryptedSecret, bound_to: str) -> str:
        key = self._keys.get(stored.key_id)
        if key is None:
            raise SecretDecryptionError(f"no configured MFA key has the id {stored.key_id}")
        try:
            raw = base64.urlsafe_b64decode(stored.ciphertext.encode("ascii"))
            plain = key.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], bound_to.encode("utf-8"))
        except (InvalidTag, ValueError) as error:
            raise SecretDecryptionError("a stored MFA secret does not decrypt") from error
        return plain.decode("utf-8")


def new_totp_secret() -> str:
    """160 random bits in base32 (RFC 4226's recommended length)."""
    return pyotp.random_base32(length=32)


def time_step(moment: datetime) -> int:
    return int(moment.timestamp()) // TOTP_STEP_SECONDS


def totp_code(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_SECONDS).at(
        step * TOTP_STEP_SECONDS
    )


def matching_step(secret: str, code: str, moment: datetime) -> int | None:
    """The time step, within the drift window around `moment`, whose code is `code`; the
    latest one if several match. Every candidate is compared in constant time."""
    now = time_step(moment)
    found: int | None = None
    for step in range(now - TOTP_DRIFT_STEPS, now + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp_code(secret, step), code):
            found = step
    return found


def is_totp_code(code: str) -> bool:
    return len(code) == TOTP_DIGITS and code.isascii() and code.isdigit()


def provisioning_uri(secret: str, account_name: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_SECONDS).provisioning_uri(
        name=account_name, issuer_name=issuer
    )


def qr_svg(uri: str) -> str:
    """The URI as an SVG QR code, made in this process (no third-party service sees it)."""
    return str(segno.make(uri, error="m").svg_inline(scale=4))


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    return [
        "-".join(
            "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(4))
            for _ in range(RECOVERY_CODE_GROUPS)
        )
        for _ in range(count)
    ]


def normalized_recovery_code(code: str) -> str:
    """Upper case, without the hyphens and spaces people type or leave out."""
    return "".join(code.split()).replace("-", "").upper()


def hash_recovery_code(code: str) -> str:
    """Recovery codes carry 80 random bits, so a plain SHA-256 is a safe stored form."""
    return hashlib.sha256(normalized_recovery_code(code).encode("utf-8")).hexdigest()
