"""The caller's own account: GET /users/me, PUT /update, DELETE /delete."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from C_SchemaPackage.request import DeleteSelfRequest, UpdateSelfRequest
from C_SchemaPackage.response import UserOut
from I_ControllerPackage.blocking import run_blocking
from I_ControllerPackage.dependencies import AuthServiceDep, CurrentUser, HashingLaneDep
from I_ControllerPackage.openapi_responses import error_responses

router = APIRouter(tags=["account"])


@router.get(
    "/users/me",
    response_model=UserOut,
    responses=error_responses(401),
    summary="The signed-in account",
)
async def read_me(user: CurrentUser) -> UserOut:
    return user


@router.put(
    "/update",
    response_model=UserOut,
    responses=error_responses(401, 403, 409, 413, 415, 422, 429),
    summary="Change your own account (current_password needed for email or password)",
)
async def update_me(
    body: UpdateSelfRequest, user: CurrentUser, service: AuthServiceDep, lane: HashingLaneDep
) -> UserOut:
    return await run_blocking(service.update_self, user.id, body, lane=lane)


@router.delete(
    "/delete",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 403, 409, 413, 415, 422, 429),
    summary="Delete your own account (password required)",
)
async def delete_me(
    body: DeleteSelfRequest, user: CurrentUser, service: AuthServiceDep, lane: HashingLaneDep
) -> Response:
    await run_blocking(service.delete_self, user.id, body.password, lane=lane)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
