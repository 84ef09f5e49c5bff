"""GET /metrics: the Prometheus text exposition, summed over every worker.

Open by default, as Prometheus targets usually are on a private network. With METRICS_TOKEN
set, a scrape must send `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time);
anything else answers 401 like the API's own routes.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response

from A_DatabasePackage.settings import Settings
from C_SchemaPackage.response import ErrorOut
from D_CustomExceptionPackage.errors import InvalidTokenError, NotAuthenticatedError
from I_ControllerPackage.blocking import run_blocking
from I_ControllerPackage.current_user import bearer_token_from_header
from I_ControllerPackage.mail_wiring import MailParts
from I_ControllerPackage.metrics import METRICS_CONTENT_TYPE, render_metrics
from I_ControllerPackage.openapi_responses import error_responses

router = APIRouter(tags=["health"])


def require_metrics_token(request: Request) -> None:
    settings: Settings = request.app.state.settings
    if settings.METRICS_TOKEN is None:
        return
    authorization = request.headers.get("authorization")
    if authorization is None:
        raise NotAuthenticatedError(
            "Not authenticated: send Authorization: Bearer <METRICS_TOKEN>."
        )
    presented = bearer_token_from_header(authorization).encode()
    expected = settings.METRICS_TOKEN.get_secret_value().encode()
    if not hmac.compare_digest(presented, expected):
        raise InvalidTokenError("The metrics token is wrong.")


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        **error_responses(database=False),
        200: {"content": {"text/plain": {}}, "description": "Prometheus text format"},
        401: {"model": ErrorOut, "description": "NOT_AUTHENTICATED or INVALID_TOKEN"},
    },
    summary="Prometheus metrics (needs METRICS_TOKEN as a bearer token when it is set)",
)
async def metrics(request: Request) -> Response:
    require_metrics_token(request)
    return Response(
        await run_blocking(render_metrics, await outbox_pending(request)),
        media_type=METRICS_CONTENT_TYPE,
    )


async def outbox_pending(request: Request) -> int | None:
    """The outbox's pending mails; None (the gauge left out) while the database is down, so a
    scrape still answers with every other figure."""
    parts: MailParts = request.app.state.mail
    try:
        return await run_blocking(parts.drainer.pending)
    except Exception:  # any failure to count (an outage) only leaves the gauge out
        return None
