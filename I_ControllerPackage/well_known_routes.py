"""What other services need to verify our tokens: GET /.well-known/jwks.json and a minimal
GET /.well-known/openid-configuration, and POST /token/introspect (RFC 7662)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse

from A_DatabasePackage.settings import Settings
from C_SchemaPackage.key_schemas import IntrospectionOut, JwksOut, OpenIdConfigurationOut
from D_CustomExceptionPackage.errors import InvalidClientError
from E_SecurityPackage.key_ring import KeyRing
from I_ControllerPackage.blocking import run_blocking
from I_ControllerPackage.key_dependencies import IntrospectionServiceDep
from I_ControllerPackage.openapi_responses import error_responses, success_headers

router = APIRouter(tags=["keys"])

JWKS_PATH = "/.well-known/jwks.json"
INTROSPECTION_PATH = "/token/introspect"


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _public_cache(request: Request) -> dict[str, str]:
    return {"Cache-Control": f"public, max-age={_settings(request).JWKS_MAX_AGE_SECONDS}"}


@router.get(
    JWKS_PATH,
    response_model=JwksOut,
    responses={
        **error_responses(),
        **success_headers(200, Cache_Control="`public, max-age=JWKS_MAX_AGE_SECONDS` (600)"),
    },
    summary="The public keys that verify access tokens (empty with an HMAC algorithm)",
)
async def jwks(request: Request) -> JSONResponse:
    keys: KeyRing = request.app.state.security.tokens.keys
    published = await run_blocking(keys.public_jwks)
    return JSONResponse(JwksOut(keys=published).model_dump(), headers=_public_cache(request))


def base_url(request: Request) -> str:
    """PUBLIC_BASE_URL, or else the URL this request came to (fine for development only)."""
    configured = _settings(request).PUBLIC_BASE_URL
    return configured if configured is not None else str(request.base_url).rstrip("/")


@router.get(
    "/.well-known/openid-configuration",
    response_model=OpenIdConfigurationOut,
    responses={
        **error_responses(database=False),
        **success_headers(200, Cache_Control="`public, max-age=JWKS_MAX_AGE_SECONDS`"),
    },
    summary="Discovery: issuer, JWKS and token endpoints, signing algorithm",
)
async def openid_configuration(request: Request) -> JSONResponse:
    settings = _settings(request)
    base = base_url(request)
    body = OpenIdConfigurationOut(
        issuer=settings.JWT_ISSUER,
        jwks_uri=base + JWKS_PATH,
        token_endpoint=base + "/login",
        introspection_endpoint=base + INTROSPECTION_PATH,
        introspection_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
        id_token_signing_alg_values_supported=[settings.JWT_ALGORITHM],
        token_endpoint_auth_methods_supported=["none"],
        grant_types_supported=["password", "refresh_token"],
        response_types_supported=["token"],
        subject_types_supported=["public"],
    )
    return JSONResponse(body.model_dump(), headers=_public_cache(request))


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(client_id, client_secret) of `Authorization: Basic ...` (RFC 6749 2.3.1: each part
    form-encoded before base64), None without such a header; INVALID_CLIENT when garbled."""
    if authorization is None:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise InvalidClientError() from error
    client_id, separator, secret = decoded.partition(":")
    if not separator:
        raise InvalidClientError()
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


@router.post(
    INTROSPECTION_PATH,
    response_model=IntrospectionOut,
    response_model_exclude_none=True,
    responses={
        **error_responses(401, 413, 415, 422),
        **success_headers(200, Cache_Control="`no-store`"),
    },
    summary="Token introspection (RFC 7662), for resource servers with a client credential",
)
async def introspect(
    request: Request,
    service: IntrospectionServiceDep,
    token: Annotated[str, Form()],  # past MAX_TOKEN_LENGTH: inactive, refused unread
    token_type_hint: Annotated[str | None, Form(max_length=64)] = None,
    client_id: Annotated[str | None, Form(max_length=128)] = None,
    client_secret: Annotated[str | None, Form(max_length=256)] = None,
) -> JSONResponse:
    """HTTP Basic with a client of INTROSPECTION_CLIENTS (or `client_id` and `client_secret`
    in the form). Answers `{"active": false}` for anything not live."""
    credentials = basic_credentials(request.headers.get("authorization"))
    if credentials is None:
        credentials = (client_id or "", client_secret or "") if client_id else ("", "")
    await run_blocking(service.authenticate_client, *credentials)
    result = await run_blocking(service.introspect, token)
    return JSONResponse(result.model_dump(exclude_none=True), headers={"Cache-Control": "no-store"})
