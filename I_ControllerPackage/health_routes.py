"""Liveness: answers while the process runs, without touching the database."""

from __future__ import annotations

from fastapi import APIRouter

from C_SchemaPackage.response import HealthOut
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
