"""The servers under test: two uvicorn workers under deploy/serve.py, each worker with a
listening socket of its own, the way production runs the service."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SERVICE_APP = "I_ControllerPackage.logic_controller:app"
BARE_APP = "bench.bare_jwt_app:app"
BARE_SIGN_IN_APP = "bench.bare_sign_in_app:app"
WORKERS = 2
# deploy/serve.py runs uvicorn with the production command's options (TCP_NODELAY, no access
# log: the service logs its own JSON line per request) and spreads the connections evenly over
# the workers. uvicorn's own --workers shares one socket, and then one worker often held 15 of
# wrk's 16 connections, so a figure depended on how the connections happened to fall.
LAUNCHER = "deploy.serve"
BENCH_SECRET_KEY = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105
DEFAULT_POSTGRES_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(database_url: str) -> dict[str, str]:
    """Production settings and Argon2 defaults; only the limits of issue 4 are lifted, since
    the load comes from one address."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "LC_ALL") if key in os.environ}
    env.update(
        PYTHONPATH=str(PROJECT_ROOT),
        DATABASE_URL=database_url,
        SECRET_KEY=BENCH_SECRET_KEY,
        APP_ENV="production",
        ACCESS_TOKEN_EXPIRE_MINUTES="120",  # noqa: S106 (the bench token outlives the run)
        RATE_LIMIT_ENABLED="false",
        REGISTER_RATE_LIMIT="1000000/minute",
    )
    return env


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server and its worker processes (Linux /proc)."""
        return sum(_process_cpu_seconds(pid) for pid in _process_tree(self.process.pid))


def _process_tree(pid: int) -> list[int]:
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            pids.extend(_process_tree(int(child)))
    return pids


def _process_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime: fields 14 and 15 of stat(5), 12 and 13 after the command name
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_healthy(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited:\n{server.log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not start:\n{server.log.read_text(errors='replace')}")


@contextmanager
def uvicorn_server(app: str, env: Mapping[str, str], work_dir: Path) -> Iterator[Server]:
    """`python -m deploy.serve <app>` with 2 workers on a free loopback port, in `work_dir`
    (no stray .env)."""
    port = free_port()
    log = work_dir / f"{app.split(':')[0]}-{port}.log"
    command = [sys.executable, "-m", LAUNCHER, app]
    server_variables = {"BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(WORKERS)}
    if "HASH_CONCURRENCY" in os.environ:  # to compare with the default
        server_variables["HASH_CONCURRENCY"] = os.environ["HASH_CONCURRENCY"]
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            cwd=work_dir,
            env={**env, **server_variables},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, port, log)
    try:
        _wait_healthy(server)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def private_postgres_database() -> Iterator[str]:
    """A database of its own on the local server (BENCH_DATABASE_URL), dropped afterwards."""
    admin_url = make_url(os.environ.get("BENCH_DATABASE_URL", DEFAULT_POSTGRES_URL))
    name = f"auth_bench_{os.getpid()}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
