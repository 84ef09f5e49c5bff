"""Sign-up and sign-in: POST /register, POST /login, POST /users/code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from C_SchemaPackage.request import LoginRequest, RegisterRequest
from C_SchemaPackage.response import MfaRequiredOut, TokenOut, UserOut
from I_ControllerPackage.blocking import run_blocking
from I_ControllerPackage.dependencies import AuthServiceDep, ClientInfoDep, HashingLaneDep
from I_ControllerPackage.login_body import LOGIN_OPENAPI_BODY, read_login_body
from I_ControllerPackage.openapi_responses import error_responses, success_headers

router = APIRouter(tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses={
        **error_responses(409, 413, 415, 422, 429),
        **success_headers(201, Location="`/users/{id}` of the new account"),
    },
    summary="Create an account",
)
async def register(body: RegisterRequest, response: Response, service: AuthServiceDep) -> UserOut:
    user = await run_blocking(service.register, body)
    response.headers["Location"] = f"/users/{user.id}"
    return user


@router.post(
    "/login",
    response_model=TokenOut | MfaRequiredOut,
    responses={
        **error_responses(401, 403, 413, 415, 422, 429),
        **success_headers(200, Cache_Control="`no-store` (RFC 6749 5.1)"),
    },
    openapi_extra=LOGIN_OPENAPI_BODY,
    summary="Sign in (JSON or the OAuth2 password form) and receive an access token",
    description=(
        "An account with two-factor sign-in on receives no token yet but "
        '`{"mfa_required": true, "mfa_token": ...}`: send the mfa_token and a code to '
        "POST /login/mfa."
    ),
)
async def login(
    credentials: Annotated[LoginRequest, Depends(read_login_body)],
    response: Response,
    service: AuthServiceDep,
    client: ClientInfoDep,
    lane: HashingLaneDep,
) -> TokenOut | MfaRequiredOut:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return await run_blocking(
        service.sign_in, credentials.username, credentials.password, client, lane=lane
    )


@router.post(
    "/users/code",
    response_model=UserOut,
    responses=error_responses(401, 403, 413, 415, 422, 429),
    summary="Check a username (or email) and password; answer with that account",
)
async def check_credentials(
    body: LoginRequest, service: AuthServiceDep, lane: HashingLaneDep
) -> UserOut:
    return await run_blocking(service.verify_credentials, body.username, body.password, lane=lane)
