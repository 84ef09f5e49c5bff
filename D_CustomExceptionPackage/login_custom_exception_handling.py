"""The one place where errors become HTTP responses.

Every error body is `{"detail": ..., "code": ...}`. Validation errors keep FastAPI's list in
`detail` but drop `input`, `ctx` and `url`, which would echo what the client sent (a whole
body, password included, for a missing field). No 5xx body carries a traceback, SQL, a
driver message or a path.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from D_CustomExceptionPackage.errors import (
    AccountDisabledError,
    CurrentPasswordRequiredError,
    EmailNotVerifiedError,
    EmailTakenError,
    ForbiddenError,
    InvalidClientError,
    InvalidCredentialsError,
    InvalidCurrentPasswordError,
    InvalidMfaCodeError,
    InvalidMfaSignInCodeError,
    InvalidMfaTokenError,
    InvalidNoticeTokenError,
    InvalidRefreshTokenError,
    InvalidResetCodeError,
    InvalidResetTokenError,
    InvalidTokenError,
    InvalidVerifyCodeError,
    InvalidVerifyTokenError,
    KeysNotManagedError,
    LastAdminError,
    MfaAlreadyEnabledError,
    MfaEnrollmentNotStartedError,
    MfaNotEnabledError,
    MfaRequiredError,
    MfaSecretUnreadableError,
    NotAuthenticatedError,
    NothingToChangeError,
    PasswordTooShortError,
    RefreshTokenReusedError,
    RequestRejectedError,
    ServiceError,
    ServiceUnavailableError,
    SessionNotFoundError,
    SigningKeyNotFoundError,
    TooManyRequestsError,
    UsernameTakenError,
    UserNotFoundError,
    WeakPasswordError,
)

logger = logging.getLogger("auth_service.errors")

STATUS_BY_ERROR: Mapping[type[ServiceError], int] = {
    NotAuthenticatedError: 401,
    InvalidTokenError: 401,
    InvalidCredentialsError: 401,
    InvalidRefreshTokenError: 401,
    RefreshTokenReusedError: 401,
    InvalidMfaSignInCodeError: 401,
    InvalidMfaTokenError: 401,
    MfaRequiredError: 403,
    InvalidMfaCodeError: 403,
    MfaAlreadyEnabledError: 409,
    MfaSecretUnreadableError: 409,
    MfaNotEnabledError: 409,
    MfaEnrollmentNotStartedError: 409,
    InvalidClientError: 401,
    AccountDisabledError: 403,
    EmailNotVerifiedError: 403,
    InvalidCurrentPasswordError: 403,
    ForbiddenError: 403,
    UserNotFoundError: 404,
    SessionNotFoundError: 404,
    InvalidResetTokenError: 400,
    InvalidNoticeTokenError: 400,
    InvalidResetCodeError: 400,
    InvalidVerifyCodeError: 400,
    InvalidVerifyTokenError: 400,
    SigningKeyNotFoundError: 404,
    UsernameTakenError: 409,
    EmailTakenError: 409,
    LastAdminError: 409,
    KeysNotManagedError: 409,
    WeakPasswordError: 422,
    NothingToChangeError: 422,
    CurrentPasswordRequiredError: 422,
    PasswordTooShortError: 422,
    RequestRejectedError: 422,
    TooManyRequestsError: 429,
    ServiceUnavailableError: 503,
}

CODE_BY_HTTP_STATUS: Mapping[int, str] = {
    400: "BAD_REQUEST",
    401: "NOT_AUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "TOO_MANY_REQUESTS",
    503: "SERVICE_UNAVAILABLE",
}

BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}
DROPPED_VALIDATION_KEYS = frozenset({"input", "ctx", "url"})


def status_for(error: ServiceError) -> int:
    for error_type in type(error).__mro__:
        status = STATUS_BY_ERROR.get(error_type)
        if status is not None:
            return int(status)
    return 400


def remember_error_code(request: Request, code: str) -> None:
    """Leave the code where the request middleware reads it for logs and metrics."""
    request.state.error_code = code


def error_body(detail: Any, code: str, **extra: Any) -> dict[str, Any]:
    """The one shape of every error body: `{"detail", "code"}` (plus `extra` fields)."""
    return {"detail": detail, "code": code, **extra}


def error_body_bytes(detail: Any, code: str) -> bytes:
    """`error_body` as the JSON bytes a middleware sends before any route runs."""
    return json.dumps(error_body(detail, code)).encode()


def error_response(
    status_code: int,
    detail: Any,
    code: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    merged = dict(headers or {})
    if status_code == 401:
        merged.update(BEARER_CHALLENGE)
    return JSONResponse(error_body(detail, code, **extra), status_code=status_code, headers=merged)


def sanitize_validation_errors(errors: Any) -> list[dict[str, Any]]:
    """FastAPI's error list without anything that echoes the request."""
    cleaned: list[dict[str, Any]] = []
    for error in errors:
        item = {
            key: value for key, value in dict(error).items() if key not in DROPPED_VALIDATION_KEYS
        }
        item["loc"] = [part if isinstance(part, int) else str(part) for part in item.get("loc", ())]
        item["msg"] = str(item.get("msg", ""))
        item["type"] = str(item.get("type", ""))
        cleaned.append(item)
    return cleaned


async def handle_service_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, ServiceError):
        return await handle_unexpected_error(request, exc)
    remember_error_code(request, exc.code)
    if isinstance(exc, RequestRejectedError):
        return error_response(status_for(exc), exc.as_error_list(), exc.code)
    if isinstance(exc, TooManyRequestsError):
        headers = {"Retry-After": str(exc.retry_after)}
        return error_response(status_for(exc), exc.detail, exc.code, headers)
    return error_response(status_for(exc), exc.detail, exc.code)


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):
        return await handle_unexpected_error(request, exc)
    remember_error_code(request, "VALIDATION_ERROR")
    return error_response(422, sanitize_validation_errors(exc.errors()), "VALIDATION_ERROR")


async def handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):
        return await handle_unexpected_error(request, exc)
    status = exc.status_code
    code = CODE_BY_HTTP_STATUS.get(status, HTTPStatus(status).phrase.upper().replace(" ", "_"))
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
    remember_error_code(request, code)
    return error_response(status, detail, code, exc.headers)


async def handle_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """A lost or refused database connection is an outage (503), never a 500."""
    outage = isinstance(exc, OperationalError | PoolTimeoutError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )
    if not outage:
        return await handle_unexpected_error(request, exc)
    logger.warning("database unavailable: %s", type(exc).__name__)
    error = ServiceUnavailableError()
    remember_error_code(request, error.code)
    return error_response(503, error.detail, error.code)


async def handle_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # This runs outside the request middleware, so the request id is carried over here.
    request_id = getattr(request.state, "request_id", None)
    logger.error(
        "unhandled error: %s", type(exc).__name__, exc_info=exc, extra={"request_id": request_id}
    )
    remember_error_code(request, "INTERNAL_ERROR")
    headers = {"X-Request-ID": request_id} if isinstance(request_id, str) else None
    return error_response(500, "Internal server error.", "INTERNAL_ERROR", headers)


def register_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, handle_service_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_exception_handler(OperationalError, handle_database_unavailable)
    app.add_exception_handler(PoolTimeoutError, handle_database_unavailable)
    app.add_exception_handler(DBAPIError, handle_database_unavailable)
    app.add_exception_handler(Exception, handle_unexpected_error)
