"""Declares every error a route can answer, so /openapi.json documents (and fuzzers check) them."""

from __future__ import annotations

from typing import Any

from C_SchemaPackage.response import ErrorOut, ValidationErrorOut

ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "INVALID_RESET_TOKEN, INVALID_RESET_CODE or INVALID_NOTICE_TOKEN",
    401: (
        "NOT_AUTHENTICATED, INVALID_TOKEN, INVALID_CREDENTIALS, INVALID_REFRESH_TOKEN, "
        "REFRESH_TOKEN_REUSED, INVALID_MFA_TOKEN or INVALID_MFA_CODE; INVALID_CLIENT on "
        "/token/introspect"
    ),
    403: (
        "FORBIDDEN, ACCOUNT_DISABLED, INVALID_CURRENT_PASSWORD, MFA_REQUIRED or INVALID_MFA_CODE"
    ),
    404: "USER_NOT_FOUND, SESSION_NOT_FOUND or KEY_NOT_FOUND",
    409: (
        "USERNAME_TAKEN, EMAIL_TAKEN, LAST_ADMIN, MFA_ALREADY_ENABLED, MFA_NOT_ENABLED, "
        "MFA_ENROLLMENT_NOT_STARTED, MFA_SECRET_UNREADABLE or KEYS_NOT_MANAGED"
    ),
    413: "PAYLOAD_TOO_LARGE: the body is over 16 KiB",
    415: "UNSUPPORTED_MEDIA_TYPE: the body is not JSON",
    422: "VALIDATION_ERROR (a list of problems) or WEAK_PASSWORD",
    429: "TOO_MANY_REQUESTS: a failure or rate limit is exhausted; see Retry-After",
    503: "SERVICE_UNAVAILABLE: the database or Redis is unreachable",
}
# RequestGuardMiddleware answers these on every route, before routing: a body over 16 KiB, a
# body that is not JSON, a query string holding U+0000.
REQUEST_GUARD_STATUSES = (413, 415, 422)
ERROR_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "Always `Bearer` (RFC 6750)",
            "required": True,
            "schema": {"type": "string"},
        }
    },
}


def error_responses(*statuses: int, database: bool = True) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these statuses, the request guard's, and 503 unless the route
    never touches the database or Redis (`database=False`)."""
    declared = {*statuses, *REQUEST_GUARD_STATUSES, *((503,) if database else ())}
    return {
        status: {
            "model": ValidationErrorOut if status == 422 else ErrorOut,
            "description": ERROR_DESCRIPTIONS[status],
            **({"headers": ERROR_HEADERS[status]} if status in ERROR_HEADERS else {}),
        }
        for status in sorted(declared)
    }


def success_headers(status: int, **headers: str) -> dict[int | str, dict[str, Any]]:
    """Declare headers that a success response always carries (`Location`, `Cache-Control`)."""
    return {
        status: {
            "headers": {
                name.replace("_", "-"): {
                    "description": description,
                    "required": True,
                    "schema": {"type": "string"},
                }
                for name, description in headers.items()
            }
        }
    }
