"""Helpers of the signing-key tests: settings for an asymmetric algorithm, a JWKS verifier
written from the outside (what a resource server does), and forged tokens."""

from __future__ import annotations

import secrets
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from jose import jwt

from A_DatabasePackage.settings import Settings
from E_SecurityPackage.jwk_keys import private_pem
from tests.support import make_settings

ENCRYPTION_KEY = "signing-key-encryption-key-for-tests-0123456789"
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k", "oth")


def asymmetric_settings(
    database_url: str, algorithm: str, redis_url: str | None = None, **overrides: Any
) -> Settings:
    return make_settings(
        database_url,
        REDIS_URL=redis_url,
        JWT_ALGORITHM=algorithm,
        SIGNING_KEY_ENCRYPTION_KEY=ENCRYPTION_KEY,
        **overrides,
    )


def jwks_of(client: TestClient) -> list[dict[str, str]]:
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200, response.text
    keys: list[dict[str, str]] = response.json()["keys"]
    return keys


def verify_with_jwks(
    token: str, keys: list[dict[str, str]], check_times: bool = True
) -> dict[str, Any]:
    """Verify as a resource server would: the key the kid names, its own algorithm only.
    `check_times=False` where the service runs on a clock moved ahead of the real one."""
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt"
    key = next(k for k in keys if k["kid"] == header["kid"])
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=[key["alg"]],
        audience="auth-service",
        issuer="auth-service",
        options={"verify_exp": check_times, "verify_nbf": check_times, "verify_iat": check_times},
    )
    return claims


def foreign_es256_token(claims: dict[str, Any], kid: str) -> str:
    """Claims signed by a P-256 key this service never saw, naming `kid`."""
    pem = private_pem(ec.generate_private_key(ec.SECP256R1()))
    token: str = jwt.encode(claims, pem, algorithm="ES256", headers={"kid": kid, "typ": "at+jwt"})
    return token


def random_kid() -> str:
    return secrets.token_urlsafe(32)
