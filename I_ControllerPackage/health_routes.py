"""Liveness: answers while the process runs, without touching the database."""

from __future__ import annotations

from fastapi import APIRouter

from C_SchemaPackage.response import HealthOut

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut, summary="Liveness probe")
async def healthz() -> HealthOut:
    return HealthOut()
