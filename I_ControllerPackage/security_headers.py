"""Security headers on every response, errors and 500s included (a pure ASGI middleware).

The API answers only JSON, so its Content-Security-Policy allows nothing at all. The docs
pages (/docs, /redoc and their assets under /static/docs) get a policy that lets the locally
served Swagger UI and ReDoc run: their own scripts and styles, the inline start-up script
FastAPI writes into the page, data: images and fonts, blob: workers (ReDoc's search), and
calls back to this origin only. HSTS is sent only over HTTPS: when the connection itself is
HTTPS, or a trusted proxy says so in X-Forwarded-Proto.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from E_SecurityPackage.client_address import TrustedProxies

API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HSTS = "max-age=63072000; includeSubDomains"
ALWAYS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)
DOCS_PAGES = ("/docs", "/redoc")
STATIC_PREFIX = "/static/docs/"


def _app_path(scope: Scope) -> str:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


def is_docs_path(path: str) -> bool:
    return (
        path in DOCS_PAGES
        or any(path.startswith(page + "/") for page in DOCS_PAGES)
        or path.startswith(STATIC_PREFIX)
    )


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, trusted_proxies: TrustedProxies | None = None) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies or TrustedProxies()

    def _is_https(self, scope: Scope) -> bool:
        headers: Iterable[tuple[bytes, bytes]] = scope.get("headers", [])
        forwarded = next(
            (value.decode("latin-1") for key, value in headers if key == b"x-forwarded-proto"),
            None,
        )
        client = scope.get("client")
        peer = client[0] if client else None
        scheme = self.trusted_proxies.forwarded_proto(peer, scope.get("scheme", "http"), forwarded)
        return scheme == "https"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _app_path(scope)
        docs = is_docs_path(path)
        https = self._is_https(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", DOCS_CSP if docs else API_CSP)
                for name, value in ALWAYS:
                    headers.setdefault(name, value)
                if not path.startswith(STATIC_PREFIX):
                    headers.setdefault("Cache-Control", "no-store")
                if https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
