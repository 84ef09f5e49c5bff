"""Declares every error a route can answer, so /openapi.json documents (and fuzzers check) them."""

from __future__ import annotations

from typing import Any

from C_SchemaPackage.response import ErrorOut, ValidationErrorOut

ERROR_DESCRIPTIONS: dict[int, str] = {
    401: (
        "NOT_AUTHENTICATED, INVALID_TOKEN, INVALID_CREDENTIALS, INVALID_REFRESH_TOKEN or "
        "REFRESH_TOKEN_REUSED"
    ),
    403: "FORBIDDEN, ACCOUNT_DISABLED or INVALID_CURRENT_PASSWORD",
    404: "USER_NOT_FOUND or SESSION_NOT_FOUND",
    409: "USERNAME_TAKEN, EMAIL_TAKEN or LAST_ADMIN",
    413: "PAYLOAD_TOO_LARGE: the body is over 16 KiB",
    415: "UNSUPPORTED_MEDIA_TYPE: the body is not JSON",
    422: "VALIDATION_ERROR (a list of problems) or WEAK_PASSWORD",
    429: "TOO_MANY_REQUESTS: a failure or rate limit is exhausted; see Retry-After",
    503: "SERVICE_UNAVAILABLE: the database or Redis is unreachable",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these statuses (503 is always possible)."""
    return {
        status: {
            "model": ValidationErrorOut if status == 422 else ErrorOut,
            "description": ERROR_DESCRIPTIONS[status],
        }
        for status in sorted({*statuses, 503})
    }
