"""Two-factor sign-in: TOTP enrollment and removal, recovery codes, and the second step of a
sign-in (POST /login/mfa)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from C_SchemaPackage.request import (
    LoginMfaRequest,
    MfaCodeRequest,
    MfaEnrollRequest,
    StepUpRequest,
)
from C_SchemaPackage.response import (
    MfaEnrollmentOut,
    MfaStatusOut,
    MfaTokenOut,
    RecoveryCodesOut,
)
from I_ControllerPackage.blocking import run_blocking
from I_ControllerPackage.dependencies import (
    ClientInfoDep,
    CurrentAccessDep,
    HashingLaneDep,
    MfaServiceDep,
)
from I_ControllerPackage.openapi_responses import error_responses, success_headers

router = APIRouter(tags=["mfa"])

SHOWN_ONCE = "`no-store`: the answer holds a secret shown once"


def _no_store(response: Response) -> None:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"


@router.post(
    "/login/mfa",
    response_model=MfaTokenOut,
    responses={
        **error_responses(401, 413, 415, 422, 429),
        **success_headers(200, Cache_Control="`no-store` (RFC 6749 5.1)"),
    },
    tags=["auth"],
    summary="Second step of a sign-in: the mfa_token and a TOTP or recovery code",
)
async def login_mfa(
    body: LoginMfaRequest, response: Response, service: MfaServiceDep, client: ClientInfoDep
) -> MfaTokenOut:
    _no_store(response)
    return await run_blocking(
        service.complete_sign_in, body.mfa_token, body.code, body.recovery_code, client
    )


@router.get(
    "/mfa",
    response_model=MfaStatusOut,
    responses=error_responses(401),
    summary="Whether TOTP is on, and how many recovery codes are left",
)
async def mfa_status(access: CurrentAccessDep, service: MfaServiceDep) -> MfaStatusOut:
    return await run_blocking(service.status, access.user.id)


@router.post(
    "/mfa/totp/enroll",
    response_model=MfaEnrollmentOut,
    responses={
        **error_responses(401, 403, 409, 413, 415, 422, 429),
        **success_headers(200, Cache_Control=SHOWN_ONCE),
    },
    summary="Start TOTP enrollment (password required): a new secret, its URI and QR code",
)
async def enroll_totp(
    body: MfaEnrollRequest,
    response: Response,
    access: CurrentAccessDep,
    service: MfaServiceDep,
    lane: HashingLaneDep,
) -> MfaEnrollmentOut:
    _no_store(response)
    return await run_blocking(service.enroll, access, body.password, lane=lane)


@router.post(
    "/mfa/totp/confirm",
    response_model=RecoveryCodesOut,
    responses={
        **error_responses(401, 403, 409, 413, 415, 422, 429),
        **success_headers(200, Cache_Control=SHOWN_ONCE),
    },
    summary="Turn TOTP on with a first code; answers the recovery codes, shown once",
)
async def confirm_totp(
    body: MfaCodeRequest, response: Response, access: CurrentAccessDep, service: MfaServiceDep
) -> RecoveryCodesOut:
    _no_store(response)
    return await run_blocking(service.confirm, access, body.code)


@router.post(
    "/mfa/totp/disable",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 403, 409, 413, 415, 422, 429),
    summary="Turn TOTP off (a fresh TOTP or recovery code required)",
)
async def disable_totp(
    body: StepUpRequest, access: CurrentAccessDep, service: MfaServiceDep
) -> Response:
    await run_blocking(service.disable, access, body.code)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/mfa/recovery-codes",
    response_model=RecoveryCodesOut,
    responses={
        **error_responses(401, 403, 409, 413, 415, 422, 429),
        **success_headers(200, Cache_Control=SHOWN_ONCE),
    },
    summary="New recovery codes (a fresh code required); the old ones stop working",
)
async def regenerate_recovery_codes(
    body: StepUpRequest, response: Response, access: CurrentAccessDep, service: MfaServiceDep
) -> RecoveryCodesOut:
    _no_store(response)
    return await run_blocking(service.regenerate_recovery_codes, access, body.code)
