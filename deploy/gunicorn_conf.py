"""gunicorn configuration: `gunicorn -c deploy/gunicorn_conf.py`, from the project root.

Service settings come from the environment and `.env` as always (README "Configuration");
these server variables are read here:

| variable | default | meaning |
|---|---|---|
| BIND | 0.0.0.0:8000 | address and port to listen on |
| WEB_CONCURRENCY | CPU cores available | worker processes |
| WORKER_TIMEOUT | 60 | seconds a silent worker may take before gunicorn restarts it |
| GRACEFUL_TIMEOUT | 30 | seconds in-flight requests get to finish after SIGTERM |
| KEEPALIVE | 5 | seconds an idle keep-alive connection stays open |
| PROMETHEUS_MULTIPROC_DIR | a new temporary directory | where the workers keep their metrics |

At start the master empties the metrics directory and applies the migrations once (unless
AUTO_MIGRATE=false), before any worker exists; each worker then finds the schema current.
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

from deploy.process_setup import (  # noqa: E402
    available_cores,
    empty_metrics_dir,
    json_logging_config,
    migrate_once,
)

METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_own_metrics_dir = METRICS_DIR_VARIABLE not in os.environ
# Set before any worker starts, so prometheus-client starts in multi-process mode in each.
METRICS_DIR = Path(
    os.environ.setdefault(METRICS_DIR_VARIABLE, tempfile.mkdtemp(prefix="auth-service-metrics-"))
)


wsgi_app = "I_ControllerPackage.logic_controller:app"
worker_class = "deploy.worker.ServiceWorker"
bind = [os.environ.get("BIND", "0.0.0.0:8000")]
workers = int(os.environ.get("WEB_CONCURRENCY") or available_cores())
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

# gunicorn's and uvicorn's own lines as JSON on stdout too, like the service's; no access log.
accesslog = None
logconfig_dict: dict[str, Any] = json_logging_config("gunicorn.error", "gunicorn.access")


def on_starting(server: Any) -> None:
    empty_metrics_dir(METRICS_DIR)
    migrate_once()
    server.log.info("migrations applied; metrics in %s", METRICS_DIR)


def child_exit(_server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, path=str(METRICS_DIR))  # type: ignore[no-untyped-call]


def on_exit(_server: Any) -> None:
    if _own_metrics_dir:
        shutil.rmtree(METRICS_DIR, ignore_errors=True)
