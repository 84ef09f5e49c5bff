"""An ASGI middleware that gives every request an id, one JSON log line and its metrics.

- `X-Request-ID`: the client's value when it is sane (1 to 128 of `A-Z a-z 0-9 . _ : -`), else
  a new UUID4; echoed on the response and put on every log line written while the request runs.
- One log line per request on "auth_service.requests": request_id, method, route (the route
  template such as `/users/{user_id}`, never the raw path), status, duration_ms, user_id (set
  by the current-user dependency), client_ip and error_code. Never a header, body or query.
- Request count and latency by route template, method and status, plus the sign-in,
  registration and refresh counters (I_ControllerPackage.request_metrics).

It sits outside the request guard, so refused bodies (413, 415) are counted and logged too.
"""

from __future__ import annotations

import logging
import random
import re
import time
import uuid
from typing import Any
from weakref import WeakKeyDictionary

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from E_SecurityPackage.client_address import TrustedProxies
from I_ControllerPackage.json_logging import current_request_id
from I_ControllerPackage.metrics import HTTP_REQUESTS_IN_PROGRESS
from I_ControllerPackage.request_metrics import Exchange, method_label, record_exchange

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
UNMATCHED_ROUTE = "unmatched"
CLIENT_CLOSED_REQUEST = 499  # no answer was sent: the client went away first

PATH_PARAMETER = re.compile(r"\{[^{}/]+\}")

request_logger = logging.getLogger("auth_service.requests")
_templates_by_app: WeakKeyDictionary[Any, list[tuple[re.Pattern[str], str]]] = WeakKeyDictionary()


def request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"x-request-id":
            candidate: str = bytes(value).decode("latin-1").strip()
            if REQUEST_ID_PATTERN.fullmatch(candidate):
                return candidate
            break
    return new_request_id()


def new_request_id() -> str:
    """A random UUID4 from the `random` module rather than `uuid.uuid4()`: a correlation id is
    not a secret (the client may choose its own), and os.urandom lets go of the GIL, which on
    a busy worker costs a wait for it on every request."""
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


def _template_pattern(template: str) -> re.Pattern[str]:
    literal_parts = PATH_PARAMETER.split(template)
    return re.compile("[^/]+".join(re.escape(part) for part in literal_parts) + r"\Z")


def _known_templates(app: Any) -> list[tuple[re.Pattern[str], str]]:
    """The documented route templates, literal ones first (`/users/me` before `/users/{id}`)."""
    cached = _templates_by_app.get(app)
    if cached is None:
        templates = sorted(
            app.openapi().get("paths", {}),
            key=lambda template: (template.count("{"), -len(template)),
        )
        cached = [(_template_pattern(str(template)), str(template)) for template in templates]
        _templates_by_app[app] = cached
    return cached


def route_template(scope: Scope) -> str:
    """The template of the route that served (or would have served) this request."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str) and path:
        return path
    app = scope.get("app")
    if app is not None and hasattr(app, "openapi"):
        # Refused before routing (by the request guard): the route it was meant for.
        for pattern, template in _known_templates(app):
            if pattern.match(str(scope.get("path", ""))):
                return template
    return UNMATCHED_ROUTE


def _client_ip(scope: Scope) -> str | None:
    """The client's address as the rest of the service sees it: X-Forwarded-For believed only
    from the application's TRUSTED_PROXIES."""
    proxies: TrustedProxies = getattr(scope.get("app"), "trusted_proxies", None) or TrustedProxies()
    return proxies.client_address_of(scope)


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        status: int | None = None

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        context_token = current_request_id.set(request_id)
        HTTP_REQUESTS_IN_PROGRESS.inc()
        started = time.perf_counter()
        failed = False
        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception:
            failed = True
            raise
        finally:
            duration = time.perf_counter() - started
            HTTP_REQUESTS_IN_PROGRESS.dec()
            if status is None:
                status = 500 if failed else CLIENT_CLOSED_REQUEST
            self._finish(scope, state, status, duration)
            current_request_id.reset(context_token)

    @staticmethod
    def _finish(scope: Scope, state: dict[str, Any], status: int, duration: float) -> None:
        method = str(scope.get("method", ""))
        route = route_template(scope)
        error_code = state.get("error_code")
        record_exchange(Exchange(route, method, status, duration, error_code))
        level = (
            logging.INFO if status < 500 else logging.WARNING if status != 500 else logging.ERROR
        )
        request_logger.log(
            level,
            "request",
            extra={
                "request_id": state["request_id"],
                "method": method_label(method),
                "route": route,
                "status": status,
                "duration_ms": round(duration * 1000, 2),
                "user_id": state.get("user_id"),
                "client_ip": _client_ip(scope),
                "error_code": error_code,
            },
        )
