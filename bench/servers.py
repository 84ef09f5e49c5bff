"""Starting and stopping the servers under test, and the throw-away PostgreSQL databases.

Each server runs in a session of its own, so stopping it ends its workers too; none outlives
the `serve` block that started it."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

WORKERS = 2
BENCH_SECRET_KEY = secrets.token_urlsafe(48)  # a new signing key for each run
BENCH_MFA_KEY = secrets.token_urlsafe(48)
DEFAULT_POSTGRES_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def base_env(**values: str) -> dict[str, str]:
    """A few system variables of this process and exactly the given ones."""
    env = {key: os.environ[key] for key in PASSED_THROUGH if key in os.environ}
    env.update(values)
    return env


def service_env(root: Path, database_url: str, port: int, metrics_dir: Path) -> dict[str, str]:
    """The service's production settings with default Argon2 parameters; only the limits
    that one client address would hit are lifted."""
    return base_env(
        PYTHONPATH=str(root),
        WEB_CONCURRENCY=str(WORKERS),
        BIND=f"127.0.0.1:{port}",
        DATABASE_URL=database_url,
        SECRET_KEY=BENCH_SECRET_KEY,
        MFA_ENCRYPTION_KEY=BENCH_MFA_KEY,
        APP_ENV="production",
        RATE_LIMIT_ENABLED="false",
        REGISTER_RATE_LIMIT="1000000/minute",
        ACCESS_TOKEN_EXPIRE_MINUTES="120",  # noqa: S106 (the bench token outlives the run)
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )


@dataclass
class Server:
    """A running server: its process (the master), port and log file."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server and its worker processes (Linux /proc)."""
        return sum(_process_cpu_seconds(pid) for pid in _process_tree(self.process.pid))

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


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


def _wait_ready(server: Server, path: str, timeout: float) -> None:
    """Until `path` answers at all (any status but 5xx)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.base_url}{path}", timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not start in {timeout:g} s:\n{server.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group, SIGKILL to what is left after 30 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # workers the master left behind


@contextmanager
def serve(
    name: str,
    command: list[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    port: int,
    log_dir: Path,
    ready_path: str = "/healthz",
    timeout: float = 120.0,
) -> Iterator[Server]:
    """Run `command` (a server that listens on `port`) until the block ends."""
    log = log_dir / f"{name.replace(' ', '-')}-{port}.log"
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, process, port, log)
    try:
        _wait_ready(server, ready_path, timeout)
        yield server
    finally:
        _stop(process)


def postgres_server_version(admin_url: str) -> str:
    """The server's `SHOW server_version`."""
    engine = create_engine(admin_url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar_one())
    finally:
        engine.dispose()


@contextmanager
def private_postgres_database(admin_url: str, name: str) -> Iterator[str]:
    """A new database `name` on `admin_url`'s server (as its user), dropped at the end."""
    url = make_url(admin_url)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
