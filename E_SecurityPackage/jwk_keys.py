"""Signing keys as JSON Web Keys: generation, PEM loading, public JWKs, RFC 7638 thumbprints
(the `kid`), and the AES-GCM envelope the private keys are stored in.

EdDSA is left out: python-jose (3.5) has no Ed25519 support (its ALGORITHMS.SUPPORTED lists
none), and verifying with one library while signing with another would split the checks.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
ASYMMETRIC_ALGORITHMS = ("ES256", "RS256")
ACCESS_TOKEN_MEDIA_TYPE = "at+jwt"  # noqa: S105 (a media type)
"""RFC 9068: the `typ` header of a JWT access token."""
RSA_KEY_BITS = 2048  # RFC 7518 3.3 minimum; generation stays well under a second

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


class KeyMaterialError(ValueError):
    """A PEM, JWK or encrypted blob that cannot be used; the message names no secret."""


def is_asymmetric(algorithm: str) -> bool:
    return algorithm in ASYMMETRIC_ALGORITHMS


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _uint(value: int) -> str:
    return b64url(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def generate_private_key(algorithm: str) -> PrivateKey:
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    raise KeyMaterialError(f"no key pair for {algorithm}")


def private_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def load_private_pem(pem: str | bytes, algorithm: str) -> PrivateKey:
    """The private key of a PEM, refused unless it suits `algorithm` (P-256 for ES256, RSA of
    at least 2048 bits for RS256)."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise KeyMaterialError("not an unencrypted PEM private key") from error
    suits = (
        algorithm == "ES256"
        and isinstance(key, ec.EllipticCurvePrivateKey)
        and isinstance(key.curve, ec.SECP256R1)
    ) or (algorithm == "RS256" and isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048)
    if suits and isinstance(key, PrivateKey):
        return key
    raise KeyMaterialError(f"the private key does not suit {algorithm}")


def public_jwk(key: PrivateKey | PublicKey) -> dict[str, str]:
    """The required public members only (RFC 7638 section 3.2), in JWK form."""
    public = key.public_key() if isinstance(key, PrivateKey) else key
    if isinstance(public, ec.EllipticCurvePublicKey):
        numbers = public.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big")),
        }
    rsa_numbers = public.public_numbers()
    return {"kty": "RSA", "n": _uint(rsa_numbers.n), "e": _uint(rsa_numbers.e)}


def hmac_jwk(secret: str) -> dict[str, str]:
    return {"kty": "oct", "k": b64url(secret.encode("utf-8"))}


THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "oct": ("k", "kty")}


def thumbprint(jwk: Mapping[str, str]) -> str:
    """RFC 7638: SHA-256 over the required members, sorted, without white space."""
    members = THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"))
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def published_jwk(jwk: Mapping[str, str], kid: str, algorithm: str) -> dict[str, str]:
    """A JWKS entry: the public members and kid, alg, use. Never an `oct` or private member."""
    if jwk.get("kty") not in ("EC", "RSA"):
        raise KeyMaterialError("only public EC and RSA keys are published")
    members = THUMBPRINT_MEMBERS[jwk["kty"]]
    return {**{name: jwk[name] for name in members}, "kid": kid, "alg": algorithm, "use": "sig"}


class KeyEncryptor:
    """AES-256-GCM with a key derived (HKDF-SHA256) from SIGNING_KEY_ENCRYPTION_KEY. The kid is
    the associated data, so a ciphertext moved to another row does not decrypt."""

    INFO = b"auth-service signing keys v1"
    NONCE_BYTES = 12

    def __init__(self, secret: str) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=self.INFO).derive(
            secret.encode("utf-8")
        )
        self._aead = AESGCM(derived)

    def encrypt(self, plaintext: str, kid: str) -> str:
        nonce = secrets.token_bytes(self.NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), kid.encode("ascii"))
        return b64url(nonce + sealed)

    def decrypt(self, envelope: str, kid: str) -> str:
        try:
            raw = b64url_decode(envelope)
            opened = self._aead.decrypt(
                raw[: self.NONCE_BYTES], raw[self.NONCE_BYTES :], kid.encode("ascii")
            )
        except (InvalidTag, ValueError) as error:
            raise KeyMaterialError(
                f"signing key {kid} does not decrypt: SIGNING_KEY_ENCRYPTION_KEY changed?"
            ) from error
        return opened.decode("utf-8")
