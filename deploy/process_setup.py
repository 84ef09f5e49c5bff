"""What the two process managers of the service (deploy/gunicorn_conf.py with its worker class,
and deploy/serve.py) share: uvicorn's options, the size, the log set-up, and what is done once
before the workers exist (metrics folder, migrations)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# uvicorn's options wherever it runs the service (gunicorn's worker class, deploy/serve.py):
# the service reads the client address itself (the TCP peer, or X-Forwarded-For from
# TRUSTED_PROXIES), so uvicorn must not rewrite it from proxy headers; the request middleware
# writes one JSON line per request, so uvicorn's access log would only repeat it; the Server
# header only tells a scanner what runs here; the httptools parser with TCP_NODELAY on every
# connection (I_ControllerPackage/http_protocol.py); and uvloop, which "auto" picks where it is
# installed (requirements.txt: everywhere but Windows). httptools and uvloop cost the event loop
# less per request than h11 and asyncio (README "Performance").
UVICORN_OPTIONS: dict[str, Any] = {
    "http": "I_ControllerPackage.http_protocol:NoDelayHttpToolsProtocol",
    "loop": "auto",
    "proxy_headers": False,
    "server_header": False,
    "access_log": False,
}


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def json_logging_config(server_logger: str, access_logger: str) -> dict[str, Any]:
    """The server's own lines as JSON on stdout, like the service's; its access log off (the
    service writes one line per request itself)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "I_ControllerPackage.json_logging.JsonFormatter"}},
        "handlers": {
            "stdout": {
                "class": "I_ControllerPackage.json_logging.StdoutHandler",
                "formatter": "json",
            }
        },
        "root": {"level": "WARNING", "handlers": []},
        "loggers": {
            server_logger: {"level": "INFO", "handlers": ["stdout"], "propagate": False},
            access_logger: {"level": "WARNING", "handlers": [], "propagate": False},
            "auth_service": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
        },
    }


def empty_metrics_dir(metrics_dir: Path) -> None:
    """Remove the metric files of earlier workers (prometheus-client's multi-process mode)."""
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for entry in metrics_dir.iterdir():
        if entry.is_file() and entry.suffix == ".db":
            entry.unlink()


def migrate_once() -> None:
    """Apply the migrations before any worker starts, unless AUTO_MIGRATE=false."""
    from A_DatabasePackage.login_database_connection import Database
    from A_DatabasePackage.migrations_runner import upgrade_to_head
    from A_DatabasePackage.settings import get_settings

    settings = get_settings()
    if not settings.AUTO_MIGRATE:
        return
    database = Database(settings.database_url)
    try:
        upgrade_to_head(database)
    finally:
        database.dispose()  # no connection crosses into a worker
