"""Access tokens: signed JWTs (python-jose) with every claim checked on the way back in.

Every token's header names its key (`kid`, the key's RFC 7638 thumbprint) and says what it
is (`typ: at+jwt`, RFC 9068). Verification takes the key the kid names from the key ring
and accepts only that key's algorithm, within the configured family: an HMAC configuration
knows only its secret, an asymmetric one only public ES256/RS256 keys (never an HMAC key).
HMAC tokens without a kid (issued before kids existed) are still accepted until they expire.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jose import JWTError, jwt
from jose.exceptions import JWSError

from B_EntityPackage.domain import Clock, SystemClock
from C_SchemaPackage.fields import MAX_DATABASE_INTEGER
from D_CustomExceptionPackage.errors import InvalidTokenError
from E_SecurityPackage.jwk_keys import ACCESS_TOKEN_MEDIA_TYPE, is_asymmetric
from E_SecurityPackage.key_ring import KeyRing, StaticKeyRing, TokenKey, hmac_token_key

ACCESS_TOKEN_TYPE = "access"  # noqa: S105 (a claim value)
REQUIRED_CLAIMS = ("sub", "iat", "nbf", "exp", "jti", "iss", "aud", "type", "role", "ver", "sid")

PASSWORD_ONLY: tuple[str, ...] = ("pwd",)
KNOWN_METHODS = frozenset({"pwd", "otp"})


def assurance_level(amr: Sequence[str]) -> str:
    """The token's `acr`: `aal2` with a second factor, else `aal1` (NIST SP 800-63B)."""
    return "aal2" if "otp" in amr else "aal1"


MAX_TOKEN_LENGTH = 8 * 1024
"""Our tokens are a few hundred characters; anything far longer is refused unread."""


@dataclass(frozen=True)
class AccessTokenClaims:
    user_id: int
    role: str
    token_version: int
    session_id: int
    jti: str
    expires_at: datetime
    amr: tuple[str, ...] = PASSWORD_ONLY
    issued_at: datetime | None = None
    kid: str | None = None

    @property
    def acr(self) -> str:
        return assurance_level(self.amr)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int
    jti: str
    expires_at: datetime


class TokenService:
    """Issues and verifies access tokens with the keys of `keys`; without one, with the HMAC
    `secret_key` (an asymmetric `algorithm` needs a key ring)."""

    def __init__(
        self,
        secret_key: str,
        algorithm: str,
        issuer: str,
        audience: str,
        lifetime: timedelta,
        clock: Clock | None = None,
        *,
        keys: KeyRing | None = None,
    ) -> None:
        if keys is None:
            if is_asymmetric(algorithm):
                raise ValueError(f"{algorithm} needs a key ring")
            keys = StaticKeyRing(hmac_token_key(secret_key, algorithm))
        self.keys = keys
        self.algorithm = algorithm
        self.issuer = issuer
        self.audience = audience
        self.lifetime = lifetime
        self.clock: Clock = clock or SystemClock()

    def issue_access_token(
        self,
        user_id: int,
        role: str,
        token_version: int,
        session_id: int,
        amr: Sequence[str] = PASSWORD_ONLY,
    ) -> IssuedToken:
        """A token for this account and sign-in session; `ver` and `sid` let it be ended;
        `amr` (RFC 8176) and `acr` say how the sign-in was authenticated."""
        issued_at = int(self.clock.now().timestamp())
        expires_in = int(self.lifetime.total_seconds())
        jti = secrets.token_urlsafe(16)
        claims: dict[str, Any] = {
            "sub": str(user_id),
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + expires_in,
            "jti": jti,
            "iss": self.issuer,
            "aud": self.audience,
            "type": ACCESS_TOKEN_TYPE,
            "role": role,
            "ver": token_version,
            "sid": session_id,
            "amr": list(amr),
            "acr": assurance_level(amr),
        }
        key = self.keys.signing_key()
        assert key.signer is not None  # noqa: S101 (a key ring hands out signing keys only)
        token = jwt.encode(
            claims,
            key.signer,
            algorithm=key.algorithm,
            headers={"kid": key.kid, "typ": ACCESS_TOKEN_MEDIA_TYPE},
        )
        return IssuedToken(
            token=token,
            expires_in=expires_in,
            jti=jti,
            expires_at=datetime.fromtimestamp(issued_at + expires_in, UTC),
        )

    def verify_access_token(self, token: str) -> AccessTokenClaims:
        """The token's claims, or InvalidTokenError for anything that is not a valid token;
        one longer than MAX_TOKEN_LENGTH is refused before any decoding."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidTokenError()
        key = self._key_for(token)
        try:
            claims = jwt.decode(
                token,
                key.verifier,
                algorithms=[key.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                # exp and nbf are required and checked in _checked_claims against the injected
                # clock (python-jose would compare them with the system time instead).
                options={
                    "require_aud": True,
                    "require_iat": True,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "require_iss": True,
                    "require_sub": True,
                    "require_jti": True,
                    "leeway": 0,
                },
            )
        except (JWTError, ValueError, TypeError, KeyError, RecursionError) as error:
            raise InvalidTokenError() from error
        return self._checked_claims(claims, key.kid)

    def _key_for(self, token: str) -> TokenKey:
        """The key the header's kid names, if its algorithm is the header's. An asymmetric
        token must carry a kid and `typ: at+jwt`; an HMAC one may lack both (older tokens)."""
        try:
            header = jwt.get_unverified_header(token)
        except (JWTError, JWSError, ValueError, TypeError, KeyError, RecursionError) as error:
            raise InvalidTokenError() from error
        kid, algorithm, media_type = header.get("kid"), header.get("alg"), header.get("typ")
        if kid is None and not is_asymmetric(self.algorithm):
            kid = self.keys.signing_key().kid
        if not isinstance(kid, str) or not isinstance(algorithm, str) or len(kid) > 128:
            raise InvalidTokenError()
        if is_asymmetric(algorithm) and not _is_access_token_type(media_type):
            raise InvalidTokenError()
        key = self.keys.verification_key(kid)
        if key is None or key.algorithm != algorithm:
            raise InvalidTokenError()
        return key

    def _checked_claims(self, claims: dict[str, Any], kid: str) -> AccessTokenClaims:
        if any(name not in claims for name in REQUIRED_CLAIMS):
            raise InvalidTokenError()
        now = self.clock.now().timestamp()
        subject, version, session_id = claims["sub"], claims["ver"], claims["sid"]
        valid = (
            claims["type"] == ACCESS_TOKEN_TYPE
            and isinstance(subject, str)
            and subject.isascii()
            and subject.isdigit()
            and len(subject) <= 19
            and int(subject) <= MAX_DATABASE_INTEGER
            and type(version) is int  # bool is an int subclass: refuse true/false
            and type(session_id) is int
            and isinstance(claims["role"], str)
            and isinstance(claims["jti"], str)
            and isinstance(claims["exp"], int)
            and isinstance(claims["nbf"], int)
            and isinstance(claims["iat"], int)
            and claims["nbf"] <= now < claims["exp"]
        )
        amr = claims.get("amr", list(PASSWORD_ONLY))
        if not valid or not (
            isinstance(amr, list) and amr and all(method in KNOWN_METHODS for method in amr)
        ):
            raise InvalidTokenError()
        return AccessTokenClaims(
            user_id=int(subject),
            role=claims["role"],
            token_version=version,
            session_id=session_id,
            jti=claims["jti"],
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            amr=tuple(amr),
            issued_at=datetime.fromtimestamp(claims["iat"], UTC),
            kid=kid,
        )


def _is_access_token_type(media_type: object) -> bool:
    """`at+jwt`, or its full form `application/at+jwt` (RFC 9068 section 2.1), any case."""
    if not isinstance(media_type, str):
        return False
    lowered = media_type.lower()
    return lowered in (ACCESS_TOKEN_MEDIA_TYPE, "application/" + ACCESS_TOKEN_MEDIA_TYPE)
