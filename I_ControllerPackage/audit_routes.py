"""The audit trail: GET /audit (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AfterValidator

from B_EntityPackage.domain import AuditEventType
from C_SchemaPackage.audit_schemas import AuditPage, AuditQuery, as_utc
from C_SchemaPackage.fields import MAX_DATABASE_INTEGER
from I_ControllerPackage.blocking import run_blocking
from I_ControllerPackage.dependencies import AuditServiceDep, CurrentAdmin
from I_ControllerPackage.openapi_responses import error_responses

router = APIRouter(tags=["audit"])

QueryTime = Annotated[datetime | None, AfterValidator(as_utc)]


@router.get(
    "/audit",
    response_model=AuditPage,
    responses=error_responses(401, 403, 422),
    summary="Security events, ordered by id, filtered by account, type and time (admin)",
)
async def list_audit_events(
    _admin: CurrentAdmin,
    service: AuditServiceDep,
    user_id: Annotated[
        int | None,
        Query(
            ge=-MAX_DATABASE_INTEGER,
            le=MAX_DATABASE_INTEGER,
            description="Only events about this account",
        ),
    ] = None,
    event_type: Annotated[AuditEventType | None, Query(description="Only this kind")] = None,
    since: Annotated[
        QueryTime, Query(description="ISO-8601; events at or after this time (UTC if no offset)")
    ] = None,
    until: Annotated[
        QueryTime, Query(description="ISO-8601; events before this time (UTC if no offset)")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_DATABASE_INTEGER)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> AuditPage:
    query = AuditQuery(user_id=user_id, event_type=event_type, since=since, until=until)
    return await run_blocking(service.list_events, query, offset, limit)
