"""Runs the production entry point, `gunicorn -c deploy/gunicorn_conf.py`, as a subprocess on a
free port (BIND), like tests/live_server.py does for plain uvicorn."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.live_server import (
    PROJECT_ROOT,
    START_TIMEOUT_SECONDS,
    LiveServer,
    ServerStartError,
    _wait_healthy,
    free_port,
)

CONFIG = "deploy/gunicorn_conf.py"


def gunicorn_command() -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-c", CONFIG]


def spawn_gunicorn(
    env: Mapping[str, str], log_dir: Path, port: int, workers: int
) -> tuple[subprocess.Popen[bytes], Path]:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"gunicorn-{port}.log"
    full_env = {**env, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers)}
    with log_path.open("ab") as out, log_path.with_suffix(".stderr").open("ab") as err:
        process = subprocess.Popen(
            gunicorn_command(), cwd=PROJECT_ROOT, env=full_env, stdout=out, stderr=err
        )
    return process, log_path


def start_gunicorn(
    env: Mapping[str, str], log_dir: Path, workers: int = 2, attempts: int = 3
) -> LiveServer:
    for _ in range(attempts):
        port = free_port()
        process, log_path = spawn_gunicorn(env, log_dir, port, workers)
        server = LiveServer(process, port, log_path)
        try:
            _wait_healthy(server, time.monotonic() + START_TIMEOUT_SECONDS)
        except ServerStartError:
            if "address already in use" in server.output().lower():
                continue
            raise
        return server
    raise ServerStartError("no free port could be bound")  # pragma: no cover


@contextmanager
def gunicorn_server(
    env: Mapping[str, str], log_dir: Path, workers: int = 2
) -> Iterator[LiveServer]:
    server = start_gunicorn(env, log_dir, workers)
    try:
        yield server
    finally:
        server.stop()
