"""500 sign-ins at once against one live uvicorn worker with the production Argon2 parameters
(19 MiB each): HASH_CONCURRENCY bounds the Argon2 memory, so the process grows by far less
than 200 MB (500 unbounded computations would need ~9.5 GB), and /healthz and /users/me keep
answering throughout. The latency figures themselves are measured by bench/login_flood.py."""

from __future__ import annotations

from pathlib import Path

from tests.flood_support import MemorySampler, Probe, flood_logins, rss_bytes
from tests.live_server import PROJECT_ROOT, live_server, settings_env
from tests.support import STRONG_PASSWORD, bearer

FLOOD = 500
MAX_GROWTH = 200 * 1024 * 1024
MAX_PROBE_SECONDS = 10.0  # generous: a shared two-core machine runs the flood and the probes


def test_a_flood_of_sign_ins_is_bounded_and_does_not_starve_cheap_routes(
    tmp_path: Path,
) -> None:
    env = settings_env(
        f"sqlite:///{tmp_path / 'auth.db'}",
        ARGON2_MEMORY_KIB="19456",
        ARGON2_TIME_COST="2",
        ARGON2_PARALLELISM="1",
        HASH_CONCURRENCY="2",
        RATE_LIMIT_ENABLED="false",  # this test is about hashing, not about the limits
    )
    with live_server(env, PROJECT_ROOT, tmp_path / "logs") as server:
        with server.client() as client:
            user = {"username": "alice", "email": "alice@example.com", "password": STRONG_PASSWORD}
            assert client.post("/register", json=user).status_code == 201
            login = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
            token = login.json()["access_token"]
            for _ in range(10):  # warm up: allocator, hashing threads, connections
                client.post("/login", json={"username": "alice", "password": "wrong password!"})
        before = rss_bytes(server.process.pid)
        bodies = [
            {"username": "alice" if i % 2 else f"ghost{i}", "password": "wrong password!"}
            for i in range(FLOOD)
        ]
        with (
            MemorySampler(server.process.pid) as memory,
            Probe(server.base_url, "/healthz") as health,
            Probe(server.base_url, "/users/me", headers=bearer(token)) as me,
        ):
            statuses = flood_logins(server.base_url, bodies)
        assert statuses == [401] * FLOOD
        growth = memory.peak - before
        assert growth < MAX_GROWTH, f"grew {growth / 2**20:.0f} MiB"
        for probe in (health, me):
            assert len(probe.statuses) >= 5, probe.path
            assert set(probe.statuses) == {200}, probe.path
            assert max(probe.latencies) < MAX_PROBE_SECONDS, (probe.path, max(probe.latencies))
        assert "Traceback" not in server.output()
