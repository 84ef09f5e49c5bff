"""Accounts seen by admins: GET /users, GET/PATCH/DELETE /users/{id}, DELETE /users/{id}/mfa."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from C_SchemaPackage.fields import MAX_DATABASE_INTEGER
from C_SchemaPackage.request import AdminUpdateRequest
from C_SchemaPackage.response import UserOut, UserPage
from I_ControllerPackage.blocking import run_blocking
from I_ControllerPackage.dependencies import CurrentAdmin, CurrentUser, UserAdminServiceDep
from I_ControllerPackage.openapi_responses import error_responses

router = APIRouter(tags=["users"])

UserId = Annotated[int, Path(ge=-MAX_DATABASE_INTEGER, le=MAX_DATABASE_INTEGER)]


@router.get(
    "/users",
    response_model=UserPage,
    responses=error_responses(401, 403, 422),
    summary="List accounts, ordered by id (admin)",
)
async def list_users(
    _admin: CurrentAdmin,
    service: UserAdminServiceDep,
    offset: Annotated[int, Query(ge=0, le=MAX_DATABASE_INTEGER)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> UserPage:
    return await run_blocking(service.list_users, offset, limit)


@router.get(
    "/users/{user_id}",
    response_model=UserOut,
    responses=error_responses(401, 403, 404, 422),
    summary="One account (admin, or the account itself)",
)
async def read_user(user_id: UserId, user: CurrentUser, service: UserAdminServiceDep) -> UserOut:
    return await run_blocking(service.get_user, user, user_id)


@router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    responses=error_responses(401, 403, 404, 409, 413, 415, 422),
    summary="Change an account, its role or its active flag (admin)",
)
async def update_user(
    user_id: UserId, body: AdminUpdateRequest, _admin: CurrentAdmin, service: UserAdminServiceDep
) -> UserOut:
    return await run_blocking(service.update_user, user_id, body)


@router.delete(
    "/users/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Delete an account (admin)",
)
async def delete_user(
    user_id: UserId, _admin: CurrentAdmin, service: UserAdminServiceDep
) -> Response:
    await run_blocking(service.delete_user, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/users/{user_id}/mfa",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Turn an account's second factor off and end its sessions (admin)",
)
async def reset_mfa(
    user_id: UserId, _admin: CurrentAdmin, service: UserAdminServiceDep
) -> Response:
    await run_blocking(service.reset_mfa, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
