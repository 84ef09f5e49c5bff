"""gunicorn configuration, the production entry point: `gunicorn -c deploy/gunicorn_conf.py`
from the project root (the Dockerfile's command).

Service settings come from the environment and `.env` as always, WEB_CONCURRENCY (the number
of workers) and HASH_CONCURRENCY included (A_DatabasePackage.settings). Server variables:

| variable | default | meaning |
|---|---|---|
| BIND | 0.0.0.0:8000 | address and port to listen on |
| WORKER_TIMEOUT | 60 | seconds a silent worker may take before gunicorn restarts it |
| GRACEFUL_TIMEOUT | 30 | seconds in-flight requests get to finish after SIGTERM |
| KEEPALIVE | 5 | seconds an idle keep-alive connection stays open |
| PROMETHEUS_MULTIPROC_DIR | a new temporary directory | where the workers keep their metrics |

The master checks the settings, empties the metrics folder and applies the migrations once
(unless AUTO_MIGRATE=false) before any worker exists; the workers then skip them.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from A_DatabasePackage.settings import METRICS_DIR_VARIABLE, get_settings  # noqa: E402

_own_metrics_dir = METRICS_DIR_VARIABLE not in os.environ
# Set before any worker starts, so prometheus-client starts in multi-process mode in each.
METRICS_DIR = Path(
    os.environ.setdefault(METRICS_DIR_VARIABLE, tempfile.mkdtemp(prefix="auth-service-metrics-"))
)

wsgi_app = "I_ControllerPackage.logic_controller:app"
worker_class = "deploy.worker.ServiceWorker"
bind = [os.environ.get("BIND", "0.0.0.0:8000")]
workers = get_settings().WEB_CONCURRENCY
timeout = int(os.environ.get("WORKER_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("KEEPALIVE", "5"))
# The service decides which proxies to believe (TRUSTED_PROXIES); gunicorn believes none.
forwarded_allow_ips = ""
proxy_allow_ips = ""
preload_app = False
# gunicorn's runtime control socket sits at one path per user ($HOME/.gunicorn), which two
# instances on one machine would share; workers are managed with signals instead.
control_socket_disable = True
# Heartbeat files in memory, not on a container's overlay disk.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108

# gunicorn's own lines as JSON on stdout too, like the service's; no access log (the service
# writes one line per request itself).
accesslog = None
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "I_ControllerPackage.json_logging.JsonFormatter"}},
    "handlers": {
        "stdout": {"class": "I_ControllerPackage.json_logging.StdoutHandler", "formatter": "json"}
    },
    "root": {"level": "WARNING", "handlers": []},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        "auth_service": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
    },
}


def _empty_metrics_dir() -> None:
    """Remove the metric files of earlier workers (prometheus-client's multi-process mode)."""
    METRICS_DIR.mkdir(parents=True, exist_ok=True)
    for entry in METRICS_DIR.iterdir():
        if entry.is_file() and entry.suffix == ".db":
            entry.unlink()


def _migrate() -> None:
    from A_DatabasePackage.database import Database
    from A_DatabasePackage.migrations_runner import upgrade_to_head

    settings = get_settings()
    if not settings.AUTO_MIGRATE:
        return
    database = Database(settings.database_url)
    try:
        upgrade_to_head(database)
    finally:
        database.dispose()  # no connection crosses into a worker


def on_starting(server: Any) -> None:
    _empty_metrics_dir()
    _migrate()
    # The workers find the schema current, and size their hashing by gunicorn's worker count
    # (which `-w` may have changed).
    os.environ["AUTO_MIGRATE"] = "false"
    os.environ["WEB_CONCURRENCY"] = str(server.cfg.workers)
    server.log.info("migrations applied; metrics in %s", METRICS_DIR)


def child_exit(_server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, path=str(METRICS_DIR))  # type: ignore[no-untyped-call]


def on_exit(_server: Any) -> None:
    if _own_metrics_dir:
        shutil.rmtree(METRICS_DIR, ignore_errors=True)
