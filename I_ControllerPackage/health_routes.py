"""Probes: liveness (/healthz, no dependency touched) and readiness (/readyz)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from A_DatabasePackage.database import Database
from C_SchemaPackage.response import HealthOut, NotReadyOut, ReadyOut
from D_CustomExceptionPackage.errors import ServiceUnavailableError
from D_CustomExceptionPackage.login_custom_exception_handling import (
    error_response,
    remember_error_code,
)
from I_ControllerPackage.dependencies import get_database
from I_ControllerPackage.openapi_responses import error_responses
from I_ControllerPackage.readiness import check_readiness

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
    remember_error_code(request, code)
    detail = f"Not ready: {' and '.join(report.failed)} unavailable."
    return error_response(503, detail, code, status="unavailable", checks=report.checks)
