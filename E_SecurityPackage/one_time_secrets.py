"""The secrets a recovery mail carries: a link token and a short code, stored only as hashes.

The token is 256 random bits (URL-safe), stored as its SHA-256: it cannot be guessed, so a
plain hash suffices. The code is 8 digits, guessable offline from a plain hash, so it is
stored as an HMAC under a key derived from SECRET_KEY and bound to its token's row; online
guessing is bounded by the attempts a token allows.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

TOKEN_BYTES = 32
CODE_DIGITS = 8


@dataclass(frozen=True)
class IssuedSecret:
    """What goes into the mail (token, code) and what is stored (their hashes)."""

    token: str
    code: str
    token_hash: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class OneTimeSecrets:
    def __init__(self, secret_key: str) -> None:
        self._code_key = hashlib.sha256(
            b"auth-service one-time codes\0" + secret_key.encode("utf-8")
        ).digest()

    def issue(self) -> IssuedSecret:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        return IssuedSecret(token=token, code=code, token_hash=hash_token(token))

    def code_hash(self, token_hash: str, code: str) -> str:
        """The code's HMAC, bound to its token (the same code of two tokens differs)."""
        message = token_hash.encode("ascii") + b"\0" + code.encode("utf-8")
        return hmac.new(self._code_key, message, hashlib.sha256).hexdigest()

    def code_matches(self, token_hash: str, code: str, stored_hash: str) -> bool:
        return hmac.compare_digest(self.code_hash(token_hash, code), stored_hash)
