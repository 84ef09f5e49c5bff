"""`uvicorn --workers 2` as docs/operations.md starts it, without PROMETHEUS_MULTIPROC_DIR: every
scrape gives the totals of both workers, whichever answers, and they never go backwards, not
even after a worker is killed and replaced."""

from __future__ import annotations

import os
import signal
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.live_server import PROJECT_ROOT, LiveServer, live_server, settings_env
from tests.metrics_support import parse
from tests.worker_support import STARTED, WORKERS, access_lines, log_config, worker_pids

HEALTHZ = ("auth_http_requests_total", {"route": "/healthz", "method": "GET", "status": "200"})
BATCH = 20
MAX_BATCHES = 10


def fresh_get(server: LiveServer, path: str) -> httpx.Response:
    """On a new connection each time, so the kernel hands it to either worker."""
    with server.client() as client:
        return client.get(path)


def healthz_total(response: httpx.Response) -> float:
    assert response.status_code == 200
    return parse(response.text).value(HEALTHZ[0], **HEALTHZ[1])


def scrapes_from_every_worker(server: LiveServer, workers: set[int]) -> list[float]:
    """Scrape on fresh connections until both workers have answered; every figure read."""
    figures: list[float] = []
    answered: set[int] = set()
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(MAX_BATCHES):
            offset = server.log_path.stat().st_size
            responses = list(pool.map(lambda _: fresh_get(server, "/metrics"), range(8)))
            figures.extend(healthz_total(response) for response in responses)
            time.sleep(0.2)
            answered |= {
                pid for pid, _, path, _ in access_lines(server, offset) if path == "/metrics"
            }
            if answered >= workers:
                return figures
    raise AssertionError(f"scrapes reached only {answered} of {workers}")


@pytest.mark.backends("sqlite")
def test_uvicorn_workers_give_one_view_of_the_metrics(database_url: str, tmp_path: Path) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = settings_env(database_url, WEB_CONCURRENCY=str(WORKERS), TMPDIR=str(temporary))
    args = ["--workers", str(WORKERS), "--log-config", str(log_config(tmp_path / "log.json"))]
    with live_server(env, PROJECT_ROOT, tmp_path / "logs", args=args) as server:
        workers = worker_pids(server)
        (folder,) = temporary.glob(f"auth-service-metrics-{server.process.pid}-*")
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700

        baseline = healthz_total(fresh_get(server, "/metrics"))
        with ThreadPoolExecutor(max_workers=4) as pool:
            for response in pool.map(lambda _: fresh_get(server, "/healthz"), range(BATCH)):
                assert response.status_code == 200
        assert set(scrapes_from_every_worker(server, workers)) == {baseline + BATCH}

        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while len(set(STARTED.findall(server.stderr())) - {str(victim)}) < WORKERS:
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.1)
        replacement = worker_pids_after(server, victim)
        assert set(scrapes_from_every_worker(server, replacement)) == {baseline + BATCH}


def worker_pids_after(server: LiveServer, dead: int) -> set[int]:
    """The workers once the killed one has been replaced and the new one has started."""
    deadline = time.monotonic() + 60
    while True:
        stderr = server.stderr()
        started = {int(pid) for pid in STARTED.findall(stderr)} - {dead}
        if len(started) >= WORKERS and stderr.count("Application startup complete.") > WORKERS:
            return started
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.1)
