"""Logged out on one worker is logged out on every worker: a real `uvicorn --workers 2` on
PostgreSQL, once with REDIS_URL (the Redis denylist) and once without (the database one).

The access log is configured to start with the worker's pid, so the test sees which worker
served each request, and keeps sending requests on fresh connections until both workers have
answered (all with 401). The two workers are also found as child processes in /proc.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.live_server import PROJECT_ROOT, LiveServer, live_server, settings_env
from tests.support import STRONG_PASSWORD, bearer
from tests.worker_support import (
    WORKERS,
    access_lines,
    child_pids,
    cmdline,
    log_config,
    worker_pids,
)

BATCH = 40
MAX_BATCHES = 10


def on_fresh_connection(server: LiveServer, access_token: str) -> httpx.Response:
    with server.client() as client:
        return client.get("/users/me", headers=bearer(access_token))


@pytest.mark.backends("postgresql", "postgresql+redis")
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
