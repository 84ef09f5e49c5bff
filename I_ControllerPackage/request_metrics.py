"""Turns one finished HTTP exchange into metrics: the request figures, and the sign-in,
registration and refresh counters, which are read off the route, the status and the error
code the exception mapping left in `request.state.error_code`. Deriving them here, at the HTTP
edge, keeps the services free of metrics code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from I_ControllerPackage.metrics import (
    HTTP_REQUEST_DURATION,
    HTTP_REQUESTS,
    REGISTRATIONS,
    SIGN_IN_ROUTES,
    SIGN_INS,
    TOKEN_REFRESHES,
)

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
INVALID_REQUEST_STATUSES = frozenset({400, 404, 405, 413, 415, 422})

SIGN_IN_CODES: Mapping[str, str] = {
    "INVALID_CREDENTIALS": "invalid_credentials",
    "ACCOUNT_DISABLED": "disabled",
    "EMAIL_NOT_VERIFIED": "unverified",
    "INVALID_MFA_TOKEN": "invalid_credentials",
    "INVALID_MFA_CODE": "invalid_credentials",
    "TOO_MANY_REQUESTS": "locked",
}
REGISTRATION_CODES: Mapping[str, str] = {
    "USERNAME_TAKEN": "taken",
    "EMAIL_TAKEN": "taken",
    "WEAK_PASSWORD": "weak_password",
    "TOO_MANY_REQUESTS": "rate_limited",
}
REFRESH_CODES: Mapping[str, str] = {
    "INVALID_REFRESH_TOKEN": "invalid",
    "REFRESH_TOKEN_REUSED": "reuse_detected",
    "TOO_MANY_REQUESTS": "rate_limited",
}


@dataclass(frozen=True)
class Exchange:
    route: str
    method: str
    status: int
    duration_seconds: float
    error_code: str | None


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else "OTHER"


def _outcome(
    exchange: Exchange, success_status: int, success: str, by_code: Mapping[str, str], limited: str
) -> str:
    if exchange.status == success_status:
        return success
    if exchange.error_code is not None and exchange.error_code in by_code:
        return by_code[exchange.error_code]
    if exchange.status == 429:
        return limited
    if exchange.status == 503:
        return "unavailable"
    if exchange.status >= 500:
        return "error"
    if exchange.status in INVALID_REQUEST_STATUSES or exchange.error_code == "VALIDATION_ERROR":
        return "invalid_request"
    return "error"


def _record_auth_events(exchange: Exchange) -> None:
    if exchange.method != "POST":
        return
    if exchange.route in SIGN_IN_ROUTES:
        outcome = _outcome(exchange, 200, "success", SIGN_IN_CODES, "locked")
        SIGN_INS.labels(route=exchange.route, outcome=outcome).inc()
    elif exchange.route == "/register":
        REGISTRATIONS.labels(
            outcome=_outcome(exchange, 201, "created", REGISTRATION_CODES, "rate_limited")
        ).inc()
    elif exchange.route == "/token/refresh":
        TOKEN_REFRESHES.labels(
            outcome=_outcome(exchange, 200, "refreshed", REFRESH_CODES, "rate_limited")
        ).inc()


def record_exchange(exchange: Exchange) -> None:
    method = method_label(exchange.method)
    HTTP_REQUESTS.labels(route=exchange.route, method=method, status=str(exchange.status)).inc()
    HTTP_REQUEST_DURATION.labels(route=exchange.route, method=method).observe(
        exchange.duration_seconds
    )
    _record_auth_events(exchange)
