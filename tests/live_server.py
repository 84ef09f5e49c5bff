"""Runs the service the way production does: `python -m uvicorn ...logic_controller:app` with
the README's flags (RUN_FLAGS: the app reads X-Forwarded-For itself, and no server banner).

A subprocess (rather than uvicorn in a thread) exercises the real entry point: settings read
from the environment only, start-up migrations, the generated development key, and a
process that can refuse to start. Output goes to a log file, never to a pipe, so a chatty
server cannot block on a full pipe buffer.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support import FAST_ARGON2, TEST_MAIL_DIR, TEST_SECRET_KEY

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP = "I_ControllerPackage.logic_controller:app"
RUN_FLAGS = (
    "--no-proxy-headers",
    "--no-server-header",
    "--http",
    "deploy.http_protocol:HeaderBoundedProtocol",
)
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
# Only these variables of the test process reach the server; every setting is explicit.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


class ServerStartError(RuntimeError):
    """The server exited or never answered /healthz; the message holds its output."""


def server_env(**values: str) -> dict[str, str]:
    """A minimal environment: a few system variables plus exactly the given settings."""
    env = {key: os.environ[key] for key in PASSED_THROUGH if key in os.environ}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(values)
    return env


def settings_env(database_url: str, **overrides: str) -> dict[str, str]:
    """What tests.support.make_settings gives a TestClient app, as environment variables."""
    values = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET_KEY,
        "APP_ENV": "test",
        # The [abuse] limits, once they exist, must not throttle a test's burst of requests.
        "RATE_LIMIT_ENABLED": "false",
        "MAIL_DIR": TEST_MAIL_DIR,
        **{key: str(value) for key, value in FAST_ARGON2.items()},
    }
    values.update(overrides)
    return server_env(**values)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stderr_path(self) -> Path:
        return self.log_path.with_suffix(".stderr")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def output(self) -> str:
        stdout = self.log_path.read_text(encoding="utf-8", errors="replace")
        return f"--- stdout\n{stdout}--- stderr\n{self.stderr()}"

    def client(self, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=timeout)

    def race(self, path: str, bodies: list[dict[str, str]]) -> list[httpx.Response]:
        """POST every body to `path` at the same instant, one connection per thread."""
        barrier = threading.Barrier(len(bodies))

        def post(body: dict[str, str]) -> httpx.Response:
            with self.client() as client:
                client.get("/healthz")  # the connection is open before the barrier
                barrier.wait(timeout=30)
                return client.post(path, json=body)

        with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
            return list(pool.map(post, bodies))

    def stop(self) -> int:
        """SIGTERM (uvicorn's graceful shutdown), then SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        return self.process.returncode


def spawn(
    env: Mapping[str, str],
    cwd: Path,
    log_path: Path,
    port: int,
    args: Sequence[str] = (),
    app: str = APP,
    flags: Sequence[str] = RUN_FLAGS,
) -> subprocess.Popen[bytes]:
    """`args` are extra uvicorn options, such as `--workers 2`; `flags` the README's."""
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    command.extend(flags)
    command.extend(args)
    with log_path.open("ab") as out, log_path.with_suffix(".stderr").open("ab") as err:
        return subprocess.Popen(command, cwd=cwd, env=dict(env), stdout=out, stderr=err)


def _wait_healthy(server: LiveServer, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerStartError(
                f"server exited with {server.process.returncode}:\n{server.output()}"
            )
        try:
            response = httpx.get(f"{server.base_url}/healthz", timeout=2.0)
        except httpx.TransportError:
            time.sleep(0.05)
            continue
        if response.status_code == 200:
            return
        time.sleep(0.05)
    server.stop()
    raise ServerStartError(f"/healthz did not answer in time:\n{server.output()}")


def start_server(
    env: Mapping[str, str],
    cwd: Path,
    log_dir: Path,
    attempts: int = 3,
    args: Sequence[str] = (),
    app: str = APP,
    flags: Sequence[str] = RUN_FLAGS,
) -> LiveServer:
    """Start uvicorn on a free port and return once /healthz answers 200.

    The port is chosen before uvicorn binds it, so another process may take it in between;
    that (and only that) is retried on a new port.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(attempts):
        port = free_port()
        log_path = log_dir / f"uvicorn-{port}-{attempt}.log"
        server = LiveServer(spawn(env, cwd, log_path, port, args, app, flags), port, log_path)
        try:
            _wait_healthy(server, time.monotonic() + START_TIMEOUT_SECONDS)
        except ServerStartError:
            if "address already in use" in server.output().lower() and attempt + 1 < attempts:
                continue
            raise
        return server
    raise ServerStartError("no free port could be bound")  # pragma: no cover


@contextmanager
def live_server(
    env: Mapping[str, str],
    cwd: Path,
    log_dir: Path,
    args: Sequence[str] = (),
    app: str = APP,
    flags: Sequence[str] = RUN_FLAGS,
) -> Iterator[LiveServer]:
    server = start_server(env, cwd, log_dir, args=args, app=app, flags=flags)
    try:
        yield server
    finally:
        server.stop()


def run_expecting_exit(
    env: Mapping[str, str], cwd: Path, log_dir: Path, timeout: float = START_TIMEOUT_SECONDS
) -> tuple[int | None, str]:
    """Start the server and wait for it to exit by itself.

    Returns (exit code, stderr); the exit code is None when the server was still running at
    the timeout, or answered /healthz, in which case it has been stopped.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = log_dir / f"uvicorn-refused-{port}.log"
    server = LiveServer(spawn(env, cwd, log_path, port), port, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.process.poll() is None:
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=1.0).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    code = server.process.poll()
    if code is None:
        server.stop()
    return code, server.stderr()
