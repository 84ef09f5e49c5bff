"""Probes: liveness (/healthz, no dependency touched) and readiness (/readyz)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from A_DatabasePackage.login_database_connection import Database, get_database
from A_DatabasePackage.readiness import check_readiness
from C_SchemaPackage.response import HealthOut, NotReadyOut, ReadyOut
from D_CustomExceptionPackage.errors import ServiceUnavailableError
from I_ControllerPackage.openapi_responses import error_responses

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    response_model=HealthOut,
    responses=error_responses(database=False),
    summary="Liveness probe",
)
async def healthz() -> HealthOut:
    return HealthOut()


@router.get(
    "/readyz",
    response_model=ReadyOut,
    responses={
        **error_responses(database=False),
        503: {
            "model": NotReadyOut,
            "description": "SERVICE_UNAVAILABLE: the database or Redis did not answer in time",
        },
    },
    summary="Readiness probe: the database (and Redis, when configured) answer",
)
async def readyz(
    request: Request, database: Annotated[Database, Depends(get_database)]
) -> JSONResponse:
    report = await check_readiness(database, request.app.state.redis)
    if report.ready:
        return JSONResponse(ReadyOut(checks=report.checks).model_dump())
    code = ServiceUnavailableError.code
    request.state.error_code = code
    detail = f"Not ready: {' and '.join(report.failed)} unavailable."
    body = NotReadyOut(detail=detail, code=code, checks=report.checks)
    return JSONResponse(body.model_dump(), status_code=503)
