"""The production entry point, `gunicorn -c deploy/gunicorn_conf.py`, really run here with two
uvicorn workers: migrations in the master before the workers, /healthz, /readyz and /metrics,
metrics summed over both workers (whichever answers the scrape), no Server header, proxy
headers not believed, JSON lines only, and a graceful stop that lets a request in flight finish.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.gunicorn_server import gunicorn_command, gunicorn_server
from tests.live_server import PROJECT_ROOT, LiveServer, free_port, server_env, settings_env
from tests.metrics_support import parse
from tests.support import STRONG_PASSWORD
from tests.worker_support import child_pids

WORKERS = 2
BATCH = 30
MAX_BATCHES = 10
STARTUP_SECONDS = 60.0
HEALTHZ = ("auth_http_requests_total", {"route": "/healthz", "method": "GET", "status": "200"})


def records(server: LiveServer) -> list[dict[str, Any]]:
    """Every line gunicorn, uvicorn and the service wrote: all JSON."""
    text = server.log_path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def ready_workers(server: LiveServer) -> set[int]:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        started = {
            r["pid"] for r in records(server) if r["message"] == "Application startup complete."
        }
        if len(started) >= WORKERS:
            return started
        assert server.process.poll() is None, server.output()
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.05)


def served_by(server: LiveServer, request_ids: set[str]) -> dict[str, int]:
    """request id -> pid of the worker that logged it (waits for the lines to be written)."""
    deadline = time.monotonic() + 10
    while True:
        found = {
            r["request_id"]: r["pid"]
            for r in records(server)
            if r["logger"] == "auth_service.requests" and r["request_id"] in request_ids
        }
        if len(found) == len(request_ids) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def fresh_get(server: LiveServer, path: str, request_id: str) -> httpx.Response:
    """On a new connection each time, so the kernel hands it to either worker."""
    with server.client() as client:
        return client.get(path, headers={"X-Request-ID": request_id})


@pytest.mark.backends("sqlite", "postgresql")
def test_two_workers_serve_and_metrics_sum_over_both(database_url: str, tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    env = settings_env(database_url, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    with gunicorn_server(env, tmp_path / "logs", workers=WORKERS) as server:
        workers = ready_workers(server)
        assert workers <= child_pids(server.process.pid)
        master = server.process.pid
        lines = records(server)
        migrated = next(i for i, r in enumerate(lines) if r["message"].startswith("migrations"))
        assert lines[migrated]["pid"] == master
        booted = [i for i, r in enumerate(lines) if r["message"].startswith("Booting worker")]
        assert booted
        assert migrated < min(booted)

        with server.client() as client:
            baseline = parse(client.get("/metrics").text).value(HEALTHZ[0], **HEALTHZ[1])
            readiness = client.get("/readyz", headers={"X-Forwarded-For": "203.0.113.9"})
            assert readiness.json() == {"status": "ok", "checks": {"database": "ok"}}
            assert "server" not in readiness.headers

        sent = 0
        pids: set[int] = set()
        with ThreadPoolExecutor(max_workers=6) as pool:
            for batch in range(MAX_BATCHES):
                ids = [f"hz-{batch}-{n}" for n in range(BATCH)]
                for response in pool.map(lambda i: fresh_get(server, "/healthz", i), ids):
                    assert response.status_code == 200
                sent += BATCH
                pids |= set(served_by(server, set(ids)).values())
                if pids == workers:
                    break
        assert pids == workers, "one worker served every request"

        scrape_pids: set[int] = set()
        with ThreadPoolExecutor(max_workers=4) as pool:
            for batch in range(MAX_BATCHES):
                ids = [f"scrape-{batch}-{n}" for n in range(8)]
                for response in pool.map(lambda i: fresh_get(server, "/metrics", i), ids):
                    assert response.status_code == 200
                    # Whichever worker answers, the figure is the total of both.
                    assert parse(response.text).value(HEALTHZ[0], **HEALTHZ[1]) == baseline + sent
                scrape_pids |= set(served_by(server, set(ids)).values())
                if scrape_pids == workers:
                    break
        assert scrape_pids == workers
        assert {int(p.stem.rsplit("_", 1)[1]) for p in metrics_dir.glob("counter_*.db")} >= workers

        proxied = next(
            r for r in records(server) if r.get("route") == "/readyz" and r.get("status") == 200
        )
        assert proxied["client_ip"] == "127.0.0.1"  # X-Forwarded-For is not believed
        assert server.stop() == 0
    output = server.output()
    assert "Traceback" not in output
    assert server.stderr() == ""  # every line went to stdout as JSON


@pytest.mark.backends("sqlite", "postgresql")
def test_sigterm_lets_a_request_in_flight_finish(database_url: str, tmp_path: Path) -> None:
    # Expensive Argon2 (about a second here) keeps a sign-in in flight long enough.
    env = settings_env(database_url, ARGON2_MEMORY_KIB="65536", ARGON2_TIME_COST="30")
    with gunicorn_server(env, tmp_path / "logs", workers=WORKERS) as server:
        ready_workers(server)
        with server.client() as client:
            body = {"username": "alice", "email": "alice@example.com", "password": STRONG_PASSWORD}
            assert client.post("/register", json=body).status_code == 201

        result: dict[str, httpx.Response] = {}

        def sign_in() -> None:
            with server.client() as client:
                result["login"] = client.post(
                    "/login",
                    json={"username": "alice", "password": STRONG_PASSWORD},
                    headers={"X-Request-ID": "in-flight"},
                )

        thread = threading.Thread(target=sign_in)
        thread.start()
        deadline = time.monotonic() + 10
        with server.client() as client:
            while parse(client.get("/metrics").text).value("auth_http_requests_in_progress") < 2:
                assert time.monotonic() < deadline, "the sign-in never started"
                time.sleep(0.01)
        stopping = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        thread.join(timeout=30)
        assert result["login"].status_code == 200, result["login"].text
        assert result["login"].json()["token_type"] == "bearer"
        assert server.process.wait(timeout=30) == 0
        assert time.monotonic() - stopping < 30
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server.base_url}/healthz", timeout=2)
    messages = [(r["logger"], r["message"]) for r in records(server)]
    assert ("gunicorn.error", "Handling signal: term") in messages
    assert ("gunicorn.error", "Shutting down: Master") in messages
    in_flight = [r for r in records(server) if r.get("request_id") == "in-flight"]
    assert [(r["route"], r["status"]) for r in in_flight] == [("/login", 200)]
    assert "Traceback" not in server.output()


def test_production_without_a_secret_key_stops_before_any_worker(tmp_path: Path) -> None:
    env = server_env(
        APP_ENV="production",
        DATABASE_URL=f"sqlite:///{tmp_path / 'auth.db'}",
        BIND=f"127.0.0.1:{free_port()}",
        WEB_CONCURRENCY="2",
    )
    result = subprocess.run(
        gunicorn_command(), cwd=PROJECT_ROOT, env=env, capture_output=True, timeout=60, check=False
    )
    assert result.returncode != 0
    output = (result.stdout + result.stderr).decode()
    assert "SECRET_KEY must be set when APP_ENV=production" in output
    assert "Booting worker" not in output
