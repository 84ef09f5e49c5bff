"""The service behind a real PgBouncer in transaction mode (Debian's): every route works
through it, as for any psycopg2 application. PgBouncer here runs DISCARD ALL after every
transaction, so a statement that relied on session state would fail on every request."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from I_ControllerPackage.app_factory import create_app
from tests.live_server import free_port
from tests.support import FakeClock, bearer, in_ci, login, make_settings, register

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pgbouncer exited:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"pgbouncer did not listen:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def pgbouncer_port(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[int]:
    """A private PgBouncer in transaction mode in front of the test PostgreSQL server."""
    if not Path(PGBOUNCER).exists():
        message = "pgbouncer is not installed (Debian package pgbouncer; scripts/test.sh)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    server = make_url(postgres_url)
    work = tmp_path_factory.mktemp("pgbouncer")
    work.chmod(0o777)  # PgBouncer refuses to run as root; it switches to the postgres user
    port = free_port()
    log = work / "pgbouncer.log"
    config = work / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = host={server.host or '127.0.0.1'} port={server.port or 5432} "
        f"user={server.username or 'postgres'}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        "auth_type = any\n"
        "pool_mode = transaction\n"
        "server_reset_query = DISCARD ALL\n"
        "server_reset_query_always = 1\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
    )
    config.chmod(0o644)
    command = [PGBOUNCER, str(config)]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "postgres"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, process, log)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _through_pgbouncer(database_url: str, port: int) -> str:
    url = make_url(database_url).set(host="127.0.0.1", port=port)
    return url.render_as_string(hide_password=False)


@pytest.mark.backends("postgresql")
def test_every_route_works_through_pgbouncer_in_transaction_mode(
    database_url: str, pgbouncer_port: int, clock: FakeClock
) -> None:
    settings = make_settings(
        _through_pgbouncer(database_url, pgbouncer_port),
        AUTO_MIGRATE=False,
    )
    with TestClient(create_app(settings, clock=clock)) as client:
        register(client)
        token = login(client)
        for _ in range(10):
            me = client.get("/users/me", headers=bearer(token))
            assert me.status_code == 200, me.text
            assert me.json()["username"] == "alice"
        assert client.post("/logout", headers=bearer(token)).status_code == 204
        assert client.get("/users/me", headers=bearer(token)).status_code == 401
