"""Flood /login and watch the cheap routes: the p50/p99 latency of /healthz (and /users/me)
while idle and during the flood, their ratios, sign-in throughput and the server's peak
resident memory.

    .venv/bin/python -m bench.login_flood [--concurrency 500] [--total 1000]
        [--hash-concurrency N] [--argon2-memory-kib 19456] [--limits]

It starts its own uvicorn (one worker, as the README runs it) on a temporary SQLite database
on 127.0.0.1 and sends traffic only there; every loop is bounded. The flood uses wrong
passwords, half for a real account and half for unknown ones, so every request costs one
Argon2 verification. Rate limits are off unless --limits (from one address they would
answer 429 after LOGIN_MAX_FAILURES_PER_ADDRESS failures, which is the point of them, but
then the hashing bound is no longer what is measured).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from tests.flood_support import MemorySampler, Probe, flood_logins, percentile, rss_bytes
from tests.live_server import PROJECT_ROOT, live_server, settings_env
from tests.support import STRONG_PASSWORD, bearer

IDLE_SECONDS = 5.0
MiB = 1024 * 1024


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.login_flood", description=__doc__)
    parser.add_argument("--concurrency", type=int, default=500, help="sign-ins in flight")
    parser.add_argument("--total", type=int, default=1000, help="sign-ins in all")
    parser.add_argument(
        "--hash-concurrency", type=int, default=None, help="HASH_CONCURRENCY (default: CPUs)"
    )
    parser.add_argument("--argon2-memory-kib", type=int, default=19456)
    parser.add_argument("--argon2-time-cost", type=int, default=2)
    parser.add_argument("--limits", action="store_true", help="keep the rate limits on")
    return parser.parse_args()


def summary(name: str, idle: list[float], flood: list[float]) -> list[str]:
    idle_p50, idle_p99 = percentile(idle, 0.50), percentile(idle, 0.99)
    flood_p50, flood_p99 = percentile(flood, 0.50), percentile(flood, 0.99)
    return [
        f"{name:<10} idle    p50 {idle_p50 * 1000:8.2f} ms  p99 {idle_p99 * 1000:8.2f} ms"
        f"  ({len(idle)} requests)",
        f"{name:<10} flood   p50 {flood_p50 * 1000:8.2f} ms  p99 {flood_p99 * 1000:8.2f} ms"
        f"  ({len(flood)} requests)",
        f"{name:<10} ratio   p50 {flood_p50 / idle_p50:8.1f} x   p99 {flood_p99 / idle_p99:8.1f} x",
    ]


def main() -> int:
    arguments = parse_arguments()
    hash_concurrency = arguments.hash_concurrency or os.cpu_count() or 1
    workdir = Path(tempfile.mkdtemp(prefix="login-flood-"))
    env = settings_env(
        f"sqlite:///{workdir / 'auth.db'}",
        ARGON2_MEMORY_KIB=str(arguments.argon2_memory_kib),
        ARGON2_TIME_COST=str(arguments.argon2_time_cost),
        ARGON2_PARALLELISM="1",
        HASH_CONCURRENCY=str(hash_concurrency),
        RATE_LIMIT_ENABLED="true" if arguments.limits else "false",
    )
    with live_server(env, PROJECT_ROOT, workdir / "logs") as server:
        with server.client() as client:
            user = {"username": "alice", "email": "alice@example.com", "password": STRONG_PASSWORD}
            client.post("/register", json=user).raise_for_status()
            login = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
            login.raise_for_status()
            headers = bearer(login.json()["access_token"])
            for _ in range(20):  # warm up the allocator, threads and connections
                client.post("/login", json={"username": "alice", "password": "warm-up password"})

        with (
            Probe(server.base_url, "/healthz", pause=0.01) as idle_health,
            Probe(server.base_url, "/users/me", headers=headers, pause=0.01) as idle_me,
        ):
            time.sleep(IDLE_SECONDS)

        before = rss_bytes(server.process.pid)
        bodies = [
            {"username": "alice" if i % 2 else f"ghost{i}", "password": "wrong password!"}
            for i in range(arguments.total)
        ]
        with (
            MemorySampler(server.process.pid) as memory,
            Probe(server.base_url, "/healthz", pause=0.01) as flood_health,
            Probe(server.base_url, "/users/me", headers=headers, pause=0.01) as flood_me,
        ):
            started = time.perf_counter()
            statuses = flood_logins(server.base_url, bodies, concurrency=arguments.concurrency)
            elapsed = time.perf_counter() - started
        after = rss_bytes(server.process.pid)

    counts: dict[int, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    lines = [
        f"login flood: {arguments.total} sign-ins, {arguments.concurrency} in flight, "
        f"HASH_CONCURRENCY={hash_concurrency}, Argon2 m={arguments.argon2_memory_kib} KiB "
        f"t={arguments.argon2_time_cost}, limits {'on' if arguments.limits else 'off'}, "
        f"{os.cpu_count()} CPUs",
        f"flood      {elapsed:8.2f} s, {arguments.total / elapsed:8.1f} sign-ins/s, "
        f"statuses {dict(sorted(counts.items()))}",
        *summary("/healthz", idle_health.latencies, flood_health.latencies),
        *summary("/users/me", idle_me.latencies, flood_me.latencies),
        f"memory     before {before / MiB:8.1f} MiB  peak {memory.peak / MiB:8.1f} MiB  "
        f"growth {(memory.peak - before) / MiB:8.1f} MiB  after {after / MiB:8.1f} MiB",
    ]
    unanswered = [s for s in (*flood_health.statuses, *flood_me.statuses) if s != 200]
    if unanswered:
        lines.append(f"probes that did not answer 200: {len(unanswered)}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
