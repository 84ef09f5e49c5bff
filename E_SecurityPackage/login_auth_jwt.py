"""Access tokens: signed JWTs (python-jose) with every claim checked on the way back in."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jose import JWTError, jwt

from B_EntityPackage.domain import Clock, SystemClock
from C_SchemaPackage.fields import MAX_DATABASE_INTEGER
from D_CustomExceptionPackage.errors import InvalidTokenError

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
    """Issues and verifies access tokens. Verification accepts only the configured algorithm."""

    def __init__(
        self,
        secret_key: str,
        algorithm: str,
        issuer: str,
        audience: str,
        lifetime: timedelta,
        clock: Clock | None = None,
    ) -> None:
        self._secret_key = secret_key
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
        token = jwt.encode(claims, self._secret_key, algorithm=self.algorithm)
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
        try:
            claims = jwt.decode(
                token,
                self._secret_key,
                algorithms=[self.algorithm],
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
        return self._checked_claims(claims)

    def _checked_claims(self, claims: dict[str, Any]) -> AccessTokenClaims:
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
        )
