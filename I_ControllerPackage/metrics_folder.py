"""Where the worker processes of one server keep their metrics; decided before
prometheus-client is imported, because it picks its mode then.

With PROMETHEUS_MULTIPROC_DIR set, every process writes its figures to files in that folder and
a scrape sums them, so whichever worker answers gives the same totals. gunicorn's
configuration sets it for its workers (deploy/gunicorn_conf.py). `uvicorn --workers N` has no
such hook: a worker that finds the variable unset and was started by a multiprocessing
supervisor (uvicorn's) therefore uses a folder named after that supervisor process, the same
for all its workers and new for every start of the server, and sets the variable itself. A
single process (plain uvicorn, tests) keeps its own registry.
"""

from __future__ import annotations

import multiprocessing
import os
import stat
import tempfile
from pathlib import Path

from A_DatabasePackage.settings import METRICS_DIR_VARIABLE

FOLDER_PREFIX = "auth-service-metrics-"


def process_start_ticks(pid: int) -> str:
    """When the process started (clock ticks since boot), so a reused pid names a new folder."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return "0"
    return fields[19]


def supervisor_folder(supervisor_pid: int) -> Path:
    started = process_start_ticks(supervisor_pid)
    return Path(tempfile.gettempdir()) / f"{FOLDER_PREFIX}{supervisor_pid}-{started}"


def private_folder(folder: Path) -> Path:
    """Create the folder for this user alone, or accept it only if it already is that: in a
    shared temporary directory another user must not be able to plant figures or links."""
    folder.mkdir(mode=0o700, exist_ok=True)
    status = folder.lstat()
    if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.getuid() or status.st_mode & 0o077:
        raise RuntimeError(f"{folder} is not a private folder of this user; refusing to use it")
    return folder


def metrics_folder() -> Path | None:
    """The folder every worker of this server shares, or None for a single process."""
    configured = os.environ.get(METRICS_DIR_VARIABLE)
    if configured:
        return Path(configured)
    supervisor = multiprocessing.parent_process()
    if supervisor is None or supervisor.pid is None:
        return None
    folder = private_folder(supervisor_folder(supervisor.pid))
    os.environ[METRICS_DIR_VARIABLE] = str(folder)
    return folder
