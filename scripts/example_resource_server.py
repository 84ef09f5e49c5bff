"""An example resource server: a separate FastAPI service that accepts the auth service's
access tokens, verified locally with the public keys of its JWKS (docs/api.md, "Verifying
tokens in another service").

    AUTH_BASE_URL=https://auth.example.com uvicorn scripts.example_resource_server:app

- The JWKS is fetched once and kept for the `max-age` its response gives (600 s); a token
  whose kid is not in it makes one new fetch, at most every JWKS_MIN_REFRESH_SECONDS, so a
  flood of forged kids cannot turn into a flood of fetches.
- A token is accepted only with `typ: at+jwt`, a kid of the JWKS, that key's own algorithm
  (ES256 or RS256: never HMAC, never `none`), and the expected issuer and audience.
- A key revoked at the auth service stops verifying here when the cached JWKS expires; a
  route that must see revocation (or a logout) at once asks POST /token/introspect instead.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from jose import JWTError, jwt

ALLOWED_ALGORITHMS = ("ES256", "RS256")
DEFAULT_MAX_AGE = 600.0
MAX_AGE = re.compile(r"max-age=(\d+)")


class TokenRejectedError(Exception):
    """Any reason a token is not accepted; the answer does not say which."""


class JwksCache:
    """The auth service's public keys by kid, refreshed on expiry and (rate-bound) on an
    unknown kid. Thread-safe: FastAPI runs the sync dependency below in a thread pool."""

    def __init__(
        self,
        jwks_url: str,
        http: httpx.Client,
        min_refresh_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.jwks_url = jwks_url
        self.http = http
        self.min_refresh_seconds = min_refresh_seconds
        self.clock = clock
        self._keys: dict[str, dict[str, str]] = {}
        self._expires_at = float("-inf")
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        response = self.http.get(self.jwks_url)
        response.raise_for_status()
        found = MAX_AGE.search(response.headers.get("cache-control", ""))
        max_age = float(found.group(1)) if found else DEFAULT_MAX_AGE
        keys: dict[str, dict[str, str]] = {}
        for key in response.json().get("keys", []):
            if key.get("alg") in ALLOWED_ALGORITHMS and key.get("use", "sig") == "sig":
                keys[str(key["kid"])] = {name: str(value) for name, value in key.items()}
        now = self.clock()
        self._keys, self._fetched_at, self._expires_at = keys, now, now + max_age

    def key(self, kid: str) -> dict[str, str] | None:
        with self._lock:
            now = self.clock()
            expired = now >= self._expires_at
            unknown = kid not in self._keys and now - self._fetched_at >= self.min_refresh_seconds
            if expired or unknown:
                try:
                    self._refresh()
                except (httpx.HTTPError, ValueError):
                    if expired:  # no stale keys beyond their max-age
                        self._keys = {}
            return self._keys.get(kid)


class TokenVerifier:
    def __init__(self, keys: JwksCache, issuer: str, audience: str) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience

    def verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except JWTError as error:
            raise TokenRejectedError() from error
        kid, algorithm = header.get("kid"), header.get("alg")
        if header.get("typ") != "at+jwt" or not isinstance(kid, str):
            raise TokenRejectedError()
        key = self.keys.key(kid)
        if key is None or algorithm != key["alg"]:
            raise TokenRejectedError()
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=[key["alg"]], audience=self.audience, issuer=self.issuer
            )
        except JWTError as error:
            raise TokenRejectedError() from error
        if claims.get("type") != "access":
            raise TokenRejectedError()
        return claims


def current_claims(request: Request) -> dict[str, Any]:
    """The verified claims of the request's Bearer token (sync: it may fetch the JWKS)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRejectedError()
    verifier: TokenVerifier = request.app.state.verifier
    return verifier.verify(token.strip())


Claims = Annotated[dict[str, Any], Depends(current_claims)]
router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/hello")
def hello(claims: Claims) -> dict[str, str]:
    return {"message": f"hello, user {claims['sub']}", "role": str(claims.get("role"))}


async def rejected(_request: Request, _error: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": "The access token is invalid or has expired.", "code": "INVALID_TOKEN"},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


def create_app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI(title="Example resource server")
    app.state.verifier = verifier
    app.add_exception_handler(TokenRejectedError, rejected)
    app.include_router(router)
    return app


def app_from_environment() -> FastAPI:
    base = os.environ.get("AUTH_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    keys = JwksCache(
        f"{base}/.well-known/jwks.json",
        httpx.Client(timeout=5.0),
        min_refresh_seconds=float(os.environ.get("JWKS_MIN_REFRESH_SECONDS", "10")),
    )
    issuer = os.environ.get("JWT_ISSUER", "auth-service")
    audience = os.environ.get("JWT_AUDIENCE", "auth-service")
    return create_app(TokenVerifier(keys, issuer, audience))


app = app_from_environment()
