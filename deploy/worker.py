"""The gunicorn worker class: uvicorn with the service's options.

The service reads the client address itself (the TCP peer, or X-Forwarded-For from
TRUSTED_PROXIES), so uvicorn must not rewrite it from proxy headers; the service writes one
JSON line per request, so uvicorn's access log would only repeat it; the Server header only
tells a scanner what runs here; the header block is bounded by the service's protocol class
(deploy/http_protocol.py).
"""

from __future__ import annotations

from typing import Any, ClassVar

from uvicorn_worker import UvicornWorker


class ServiceWorker(UvicornWorker):  # type: ignore[misc]
    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        "proxy_headers": False,
        "server_header": False,
        "access_log": False,
        "http": "deploy.http_protocol:HeaderBoundedProtocol",
    }
