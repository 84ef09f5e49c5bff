"""The worker processes of a live `uvicorn --workers N`: an access log that names the worker pid on
every line, the started workers found in its output and in /proc, and the access lines read back."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from uvicorn.config import LOGGING_CONFIG

from tests.live_server import LiveServer

WORKERS = 2
STARTUP_SECONDS = 60.0
ACCESS_LINE = re.compile(r'^pid=(\d+) \S+ - "(\w+) (\S+) HTTP/1\.1" (\d{3})')
STARTED = re.compile(r"Started server process \[(\d+)\]")


def log_config(path: Path) -> Path:
    """uvicorn's default logging, with the worker pid first on every access line."""
    config: dict[str, Any] = json.loads(json.dumps(LOGGING_CONFIG))
    config["formatters"]["access"]["fmt"] = (
        'pid=%(process)d %(client_addr)s - "%(request_line)s" %(status_code)s'
    )
    config["formatters"]["access"]["use_colors"] = False
    config["formatters"]["default"]["use_colors"] = False
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def child_pids(parent: int) -> set[int]:
    children: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # the process ended meanwhile
        # Fields after the parenthesised command name: state, ppid, ...
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == parent:
            children.add(int(entry.name))
    return children


def cmdline(pid: int) -> str:
    return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()


def worker_pids(server: LiveServer) -> set[int]:
    """The pids of the started workers, once all of them have completed their start-up."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        stderr = server.stderr()
        started = {int(pid) for pid in STARTED.findall(stderr)}
        if len(started) >= WORKERS and stderr.count("Application startup complete.") >= WORKERS:
            return started
        assert server.process.poll() is None, server.output()
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.05)


def access_lines(server: LiveServer, offset: int) -> list[tuple[int, str, str, int]]:
    text = server.log_path.read_bytes()[offset:].decode("utf-8", errors="replace")
    lines = []
    for line in text.splitlines():
        match = ACCESS_LINE.match(line)
        if match:
            pid, method, path, status = match.groups()
            lines.append((int(pid), method, path, int(status)))
    return lines
