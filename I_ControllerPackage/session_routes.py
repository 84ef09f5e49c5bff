"""Sessions: POST /token/refresh, POST /logout, POST /logout/all, GET/DELETE /sessions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Response, status

from C_SchemaPackage.fields import MAX_DATABASE_INTEGER
from C_SchemaPackage.request import LogoutRequest, RefreshRequest
from C_SchemaPackage.response import SessionOut, TokenOut
from I_ControllerPackage.blocking import run_blocking
from I_ControllerPackage.dependencies import ClientInfoDep, CurrentAccessDep, SessionServiceDep
from I_ControllerPackage.openapi_responses import error_responses, success_headers

router = APIRouter(tags=["sessions"])

SessionId = Annotated[int, Path(ge=-MAX_DATABASE_INTEGER, le=MAX_DATABASE_INTEGER)]


@router.post(
    "/token/refresh",
    response_model=TokenOut,
    responses={
        **error_responses(401, 413, 415, 422),
        **success_headers(200, Cache_Control="`no-store` (RFC 6749 5.1)"),
    },
    summary="Spend a refresh token for a new access and refresh token",
)
async def refresh(
    body: RefreshRequest, response: Response, service: SessionServiceDep, client: ClientInfoDep
) -> TokenOut:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return await run_blocking(service.refresh, body.refresh_token, client)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 413, 415, 422),
    summary="End this access token and its session",
)
async def logout(
    access: CurrentAccessDep,
    service: SessionServiceDep,
    body: Annotated[LogoutRequest | None, Body()] = None,
) -> Response:
    await run_blocking(service.logout, access, body.refresh_token if body else None)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/logout/all",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401),
    summary="End every session and access token of the account",
)
async def logout_all(access: CurrentAccessDep, service: SessionServiceDep) -> Response:
    await run_blocking(service.logout_all, access.user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/sessions",
    response_model=list[SessionOut],
    responses=error_responses(401),
    summary="Your active sessions; `current` marks the one this token belongs to",
)
async def list_sessions(access: CurrentAccessDep, service: SessionServiceDep) -> list[SessionOut]:
    return await run_blocking(service.list_sessions, access)


@router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 404, 422),
    summary="End one of your sessions and its access tokens",
)
async def end_session(
    session_id: SessionId, access: CurrentAccessDep, service: SessionServiceDep
) -> Response:
    await run_blocking(service.end_session, access.user.id, session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
