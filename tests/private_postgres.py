"""A throw-away PostgreSQL cluster for outage tests: initdb in a temporary folder, its own port
on 127.0.0.1 and its own socket folder, stopped and started at will. The machine's shared
cluster is never touched.

As root, the server binaries refuse to run, so they run as the `postgres` user (runuser) in a
folder that user owns.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.live_server import free_port

START_TIMEOUT_SECONDS = 60


def postgres_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin with initdb and pg_ctl, or pg_config's."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
        reverse=True,
    )
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            candidates.append(Path(result.stdout.strip()))
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    return None


@dataclass
class PrivatePostgres:
    bindir: Path
    directory: Path
    port: int
    run_as: list[str] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def log_path(self) -> Path:
        return self.directory / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def fresh_database(self, name: str) -> str:
        """The URL of a new, empty database `name` (dropped first if a test left it)."""
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)

    def _run(self, *arguments: str) -> None:
        result = subprocess.run(
            [*self.run_as, *arguments],
            capture_output=True,
            text=True,
            check=False,
            timeout=START_TIMEOUT_SECONDS + 30,
        )
        if result.returncode != 0:
            log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            raise RuntimeError(
                f"{arguments[0]} failed ({result.returncode}):\n{result.stdout}\n"
                f"{result.stderr}\n{log}"
            )

    def init(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_path),
            "-o",
            options,
            "-w",
            "-t",
            str(START_TIMEOUT_SECONDS),
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-m",
            mode,
            "-w",
            "-t",
            str(START_TIMEOUT_SECONDS),
            "stop",
        )

    def restart_fast(self) -> None:
        """Stop (fast: connections are cut) and start again."""
        self.stop("fast")
        self.start()

    def is_running(self) -> bool:
        result = subprocess.run(
            [*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "status"],
            capture_output=True,
            check=False,
        )
        return result.returncode == 0


@contextmanager
def private_postgres(bindir: Path) -> Iterator[PrivatePostgres]:
    """A new cluster, started; stopped and deleted afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="auth-private-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(directory, owner.pw_uid, owner.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    server = PrivatePostgres(bindir, directory, free_port(), run_as)
    try:
        server.init()
        server.start()
        yield server
    finally:
        if server.is_running():
            server.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)
