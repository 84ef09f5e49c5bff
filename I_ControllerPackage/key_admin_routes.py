"""Signing keys, for admins: GET /admin/keys, POST /admin/keys/rotate,
POST /admin/keys/{kid}/revoke (`python -m scripts.manage keys ...` does the same)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from C_SchemaPackage.key_schemas import RotationOut, SigningKeyOut
from I_ControllerPackage.blocking import run_blocking
from I_ControllerPackage.dependencies import CurrentAdmin
from I_ControllerPackage.key_dependencies import SigningKeyServiceDep
from I_ControllerPackage.openapi_responses import error_responses

router = APIRouter(prefix="/admin/keys", tags=["keys"])

Kid = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


@router.get(
    "",
    response_model=list[SigningKeyOut],
    responses=error_responses(401, 403, 409),
    summary="Signing keys, newest first, with their state (admin)",
)
async def list_keys(_admin: CurrentAdmin, service: SigningKeyServiceDep) -> list[SigningKeyOut]:
    return await run_blocking(service.list_keys)


@router.post(
    "/rotate",
    status_code=status.HTTP_201_CREATED,
    response_model=RotationOut,
    responses=error_responses(401, 403, 409),
    summary="Make a new key: published now, signing after one JWKS cache lifetime (admin)",
)
async def rotate_keys(
    _admin: CurrentAdmin,
    service: SigningKeyServiceDep,
    if_older_than_seconds: Annotated[int | None, Query(ge=0, le=10 * 365 * 24 * 3600)] = None,
) -> RotationOut:
    age = None if if_older_than_seconds is None else timedelta(seconds=if_older_than_seconds)
    return await run_blocking(service.rotate, age)


@router.post(
    "/{kid}/revoke",
    response_model=SigningKeyOut,
    responses=error_responses(401, 403, 404, 409),
    summary="Revoke a key: its tokens end at once; a new key signs if it was signing (admin)",
)
async def revoke_key(
    kid: Kid, _admin: CurrentAdmin, service: SigningKeyServiceDep
) -> SigningKeyOut:
    return await run_blocking(service.revoke, kid)
