"""Outbox mails are kept encrypted: a reset link in a database dump must not reset anything.

AES-256-GCM (the `cryptography` package) under a key derived from SECRET_KEY; each sealed
message is a random 96-bit nonce followed by the ciphertext and its tag.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


@dataclass(frozen=True)
class MailMessage:
    to: str
    subject: str
    text: str
    html: str


class UnreadableMailError(ValueError):
    """The sealed message was not made with this SECRET_KEY, or was altered."""


class MailSealer:
    def __init__(self, secret_key: str) -> None:
        key = hashlib.sha256(b"auth-service mail outbox\0" + secret_key.encode("utf-8")).digest()
        self._aead = AESGCM(key)

    def seal(self, message: MailMessage) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        plaintext = json.dumps(asdict(message)).encode("utf-8")
        return nonce + self._aead.encrypt(nonce, plaintext, None)

    def open(self, sealed: bytes) -> MailMessage:
        try:
            plaintext = self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], None)
        except (InvalidTag, ValueError) as error:
            raise UnreadableMailError("the mail cannot be opened with this key") from error
        return MailMessage(**json.loads(plaintext))
