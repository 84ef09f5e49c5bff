"""Logged out on one worker is logged out on every worker: a real `uvicorn --workers 2` on
PostgreSQL, once with REDIS_URL (the Redis denylist) and once without (the database one).

The access log is configured to start with the worker's pid, so the test sees which worker
served each request, and keeps sending requests on fresh connections until both workers have
answered (all with 401). The two workers are also found as child processes in /proc.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from uvicorn.config import LOGGING_CONFIG

from tests.live_server import PROJECT_ROOT, LiveServer, live_server, settings_env
from tests.support import STRONG_PASSWORD, bearer

WORKERS = 2
BATCH = 40
MAX_BATCHES = 10
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


def on_fresh_connection(server: LiveServer, access_token: str) -> httpx.Response:
    with server.client() as client:
        return client.get("/users/me", headers=bearer(access_token))


@pytest.mark.parametrize("backend", ["postgresql", "postgresql+redis"])
def test_logged_out_on_one_worker_is_logged_out_on_the_other(
    database_url: str, backend_redis_url: str | None, tmp_path: Path
) -> None:
    extra = {"REDIS_URL": backend_redis_url} if backend_redis_url else {}
    env = settings_env(database_url, **extra)
    args = ["--workers", str(WORKERS), "--log-config", str(log_config(tmp_path / "log.json"))]
    with live_server(env, PROJECT_ROOT, tmp_path / "logs", args=args) as server:
        workers = worker_pids(server)
        assert len(workers) == WORKERS
        assert workers <= child_pids(server.process.pid)
        for pid in workers:
            assert "multiprocessing" in cmdline(pid), cmdline(pid)

        with server.client() as client:
            user = {"username": "alice", "email": "alice@example.com", "password": STRONG_PASSWORD}
            assert client.post("/register", json=user).status_code == 201
            login = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
            assert login.status_code == 200, login.text
            tokens = login.json()
            assert (
                client.get("/users/me", headers=bearer(tokens["access_token"])).status_code == 200
            )
            other = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
            assert other.status_code == 200, other.text

        with server.client() as client:
            response = client.post("/logout", headers=bearer(tokens["access_token"]))
            assert response.status_code == 204, response.text

        offset = server.log_path.stat().st_size
        served: Counter[int] = Counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            for _ in range(MAX_BATCHES):
                batch = [tokens["access_token"]] * BATCH
                for response in pool.map(lambda t: on_fresh_connection(server, t), batch):
                    assert response.status_code == 401, response.text
                    assert response.json()["code"] == "INVALID_TOKEN"
                    assert response.headers["www-authenticate"].startswith("Bearer")
                lines = access_lines(server, offset)
                assert all(line[1:] == ("GET", "/users/me", 401) for line in lines), lines
                served = Counter(line[0] for line in lines)
                if set(served) == workers:
                    break
        assert set(served) == workers, (served, workers)
        assert sum(served.values()) % BATCH == 0

        # The account's other session was not touched, on either worker.
        with server.client() as client:
            me = client.get("/users/me", headers=bearer(other.json()["access_token"]))
            assert me.status_code == 200, me.text
        assert "Traceback" not in server.output()
