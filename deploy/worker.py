"""The gunicorn worker class: uvicorn with the service's options (deploy/process_setup.py):
proxy headers, the Server header and the access log off, httptools with TCP_NODELAY on every
connection, uvloop where it is installed."""

from __future__ import annotations

from typing import Any, ClassVar

from uvicorn_worker import UvicornWorker

from deploy.process_setup import UVICORN_OPTIONS


class ServiceWorker(UvicornWorker):  # type: ignore[misc]
    CONFIG_KWARGS: ClassVar[dict[str, Any]] = dict(UVICORN_OPTIONS)
