"""Abuse resistance against a real uvicorn, started as the README says
(`--no-proxy-headers --no-server-header`): spoofed X-Forwarded-For from 127.0.0.1 is ignored,
no server banner, and two workers share the failure counters through Redis."""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.live_apps import PREFIX_VARIABLE
from tests.live_server import PROJECT_ROOT, LiveServer, live_server, settings_env
from tests.support import STRONG_PASSWORD, bearer
from tests.worker_support import WORKERS, access_lines, log_config, worker_pids

SPOOFED = "198.51.100.7"
USER = {"username": "alice", "email": "alice@example.com", "password": STRONG_PASSWORD}


def session_ip(server: LiveServer, forwarded_for: str) -> str:
    """Sign in with this X-Forwarded-For; the address the new session recorded."""
    with server.client() as client:
        headers = {"X-Forwarded-For": forwarded_for}
        login = client.post(
            "/login", json={"username": "alice", "password": STRONG_PASSWORD}, headers=headers
        )
        assert login.status_code == 200, login.text
        sessions = client.get("/sessions", headers=bearer(login.json()["access_token"]))
    current = next(s for s in sessions.json() if s["current"])
    ip: str = current["ip"]
    return ip


def sqlite_file(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'auth.db'}"


def test_spoofed_forwarded_for_from_localhost_is_ignored(tmp_path: Path) -> None:
    env = settings_env(sqlite_file(tmp_path), RATE_LIMIT_ENABLED="true")
    with live_server(env, PROJECT_ROOT, tmp_path / "logs") as server:
        with server.client() as client:
            assert client.post("/register", json=USER).status_code == 201
        assert session_ip(server, SPOOFED) == "127.0.0.1"
        # every spoofed address is still counted against 127.0.0.1
        with server.client() as client:
            for index in range(5):
                wrong = client.post(
                    "/login",
                    json={"username": "alice", "password": "wrong password here"},
                    headers={"X-Forwarded-For": f"203.0.113.{index}"},
                )
                assert wrong.status_code == 401
            locked = client.post(
                "/login",
                json={"username": "alice", "password": STRONG_PASSWORD},
                headers={"X-Forwarded-For": "203.0.113.200"},
            )
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) > 0
        assert "server" not in locked.headers
        assert locked.headers["x-content-type-options"] == "nosniff"


def test_a_trusted_proxy_is_believed(tmp_path: Path) -> None:
    env = settings_env(sqlite_file(tmp_path), TRUSTED_PROXIES="127.0.0.1")
    with live_server(env, PROJECT_ROOT, tmp_path / "logs") as server:
        with server.client() as client:
            assert client.post("/register", json=USER).status_code == 201
        assert session_ip(server, f"6.6.6.6, {SPOOFED}") == SPOOFED


def test_without_the_flag_uvicorn_itself_would_believe_the_spoof(tmp_path: Path) -> None:
    """Why the README passes --no-proxy-headers: uvicorn trusts 127.0.0.1 by default and
    rewrites the client address before the application sees the request."""
    env = settings_env(sqlite_file(tmp_path))
    with live_server(env, PROJECT_ROOT, tmp_path / "logs", flags=()) as server:
        with server.client() as client:
            assert client.post("/register", json=USER).status_code == 201
            assert client.get("/healthz").headers["server"] == "uvicorn"
        assert session_ip(server, SPOOFED) == SPOOFED


def wrong_on_fresh_connection(server: LiveServer, address: str) -> httpx.Response:
    with server.client() as client:
        return client.post(
            "/login",
            json={"username": "alice", "password": "wrong password here"},
            headers={"X-Forwarded-For": address},
        )


def right_on_fresh_connection(server: LiveServer, address: str) -> httpx.Response:
    with server.client() as client:
        return client.post(
            "/login",
            json={"username": "alice", "password": STRONG_PASSWORD},
            headers={"X-Forwarded-For": address},
        )


@pytest.mark.backends("postgresql+redis")
def test_two_workers_share_the_counters_through_redis(
    database_url: str, backend_redis_url: str, tmp_path: Path
) -> None:
    """Four failures, then the right password on fresh connections until both workers have
    answered: every answer is 429. Had each worker counted alone, one of them would have seen
    fewer than four failures and let the right password in."""
    address = f"2001:db8:{secrets.randbelow(65536):x}:{secrets.randbelow(65536):x}::1"
    env = settings_env(
        database_url,
        REDIS_URL=backend_redis_url,
        RATE_LIMIT_ENABLED="true",
        LOGIN_MAX_FAILURES="4",
        TRUSTED_PROXIES="127.0.0.1",
        **{PREFIX_VARIABLE: f"auth-test:{secrets.token_hex(6)}"},
    )
    args = ["--factory", "--workers", str(WORKERS)]
    args += ["--log-config", str(log_config(tmp_path / "log.json"))]
    with live_server(
        env, PROJECT_ROOT, tmp_path / "logs", args=args, app="tests.live_apps:prefixed_app"
    ) as server:
        workers = worker_pids(server)
        with server.client() as client:
            assert client.post("/register", json=USER).status_code == 201
        for _ in range(4):
            assert wrong_on_fresh_connection(server, address).status_code == 401
        offset = server.log_path.stat().st_size
        served: Counter[int] = Counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            for _ in range(10):
                for response in pool.map(
                    lambda a: right_on_fresh_connection(server, a), [address] * 20
                ):
                    assert response.status_code == 429, response.text
                served = Counter(line[0] for line in access_lines(server, offset))
                if set(served) == workers:
                    break
        assert set(served) == workers, (served, workers)
        assert "Traceback" not in server.output()


@pytest.mark.backends("postgresql+redis")
def test_a_burst_over_two_workers_checks_no_more_passwords_than_the_limit(
    database_url: str, backend_redis_url: str, tmp_path: Path
) -> None:
    """Thirty wrong passwords at once, on fresh connections spread over both workers, with
    hashes of the real cost: four are checked (401), the rest refused (429)."""
    address = f"2001:db8:{secrets.randbelow(65536):x}:{secrets.randbelow(65536):x}::1"
    env = settings_env(
        database_url,
        REDIS_URL=backend_redis_url,
        RATE_LIMIT_ENABLED="true",
        LOGIN_MAX_FAILURES="4",
        TRUSTED_PROXIES="127.0.0.1",
        ARGON2_MEMORY_KIB="19456",
        ARGON2_TIME_COST="2",
        **{PREFIX_VARIABLE: f"auth-test:{secrets.token_hex(6)}"},
    )
    args = ["--factory", "--workers", str(WORKERS)]
    with live_server(
        env, PROJECT_ROOT, tmp_path / "logs", args=args, app="tests.live_apps:prefixed_app"
    ) as server:
        with server.client() as client:
            assert client.post("/register", json=USER).status_code == 201
        barrier = threading.Barrier(30)

        def wrong(_: int) -> int:
            barrier.wait(timeout=30)
            return wrong_on_fresh_connection(server, address).status_code

        with ThreadPoolExecutor(max_workers=30) as pool:
            statuses = Counter(pool.map(wrong, range(30)))
        assert statuses == Counter({401: 4, 429: 26})
        assert right_on_fresh_connection(server, address).status_code == 429
