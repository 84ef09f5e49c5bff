"""The phases of a run, each measured on every server it compares, in alternating slices:
GET /users/me; raw Argon2id, POST /login and POST /register; GET /healthz idle and flooded."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

from bench.argon2_rate import PASSWORD, default_parameters, verify_rate
from bench.figures import BackendResult
from bench.load import (
    flood,
    lua_get,
    lua_json_post,
    lua_register,
    percentiles,
    probe_latency,
    run_wrk,
)
from bench.servers import WORKERS, Server
from bench.slicing import Tally, in_turn, measure, slices

HASH_CONNECTIONS = 8  # enough requests in flight to keep both workers hashing
FAST_CONNECTIONS = 16
PROBE_INTERVAL = 0.01  # a health check every 10 ms


def me_phase(
    servers: dict[str, Server], tokens: dict[str, str], seconds: float, result: BackendResult
) -> None:
    """GET /users/me with a bearer token on every server, in turn."""
    count, slice_seconds = slices(seconds)
    sides = list(servers)
    scripts = {
        side: lua_get("/users/me", {"Authorization": f"Bearer {tokens[side]}"}) for side in sides
    }
    for side in sides:  # warm-up: connections, pools, caches
        run_wrk(servers[side].base_url, scripts[side], 1, FAST_CONNECTIONS)
    tallies = {side: Tally() for side in sides}
    for index in range(count):
        for side in in_turn(sides, index):
            measure(servers[side], scripts[side], slice_seconds, FAST_CONNECTIONS, tallies[side])
    for side, tally in tallies.items():
        tally.record(f"me/{side}", result)


def hash_phase(servers: dict[str, Server], seconds: float, result: BackendResult) -> None:
    """The raw Argon2id rate, POST /login and POST /register on before and after, in turn."""
    count, slice_seconds = slices(seconds)
    login = lua_json_post("/login", f'{{"username": "bench", "password": "{PASSWORD}"}}')
    raw: list[tuple[float, float]] = []
    tallies = {key: Tally() for key in ("login/before", "login/after")}
    tallies |= {key: Tally() for key in ("register/before", "register/after")}
    for index in range(count):
        raw.append(verify_rate(default_parameters(), WORKERS, slice_seconds))
        for side in in_turn(("after", "before"), index):
            measure(servers[side], login, slice_seconds, HASH_CONNECTIONS, tallies[f"login/{side}"])
        for side in in_turn(("before", "after"), index):
            register = lua_register(f"r{int(time.time())}{side[0]}{index}", PASSWORD)
            tally = tallies[f"register/{side}"]
            measure(servers[side], register, slice_seconds, HASH_CONNECTIONS, tally)
    result.figures["rate raw"] = sum(rate for rate, _ in raw) / len(raw)
    result.figures["cpu raw"] = sum(cpu for _, cpu in raw) / len(raw) * 1000
    for key, tally in tallies.items():
        tally.record(key, result)


def healthz_phase(servers: dict[str, Server], seconds: float, result: BackendResult) -> None:
    """GET /healthz latency, idle and while /login is flooded, on before and after in turn."""
    count, slice_seconds = slices(seconds)
    login = lua_json_post("/login", f'{{"username": "bench", "password": "{PASSWORD}"}}')
    idle: dict[str, list[float]] = {"before": [], "after": []}
    flooded: dict[str, list[float]] = {"before": [], "after": []}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:

        def probe(server: Server) -> list[float]:
            """One slice of /healthz timings (ms) on `server`, from the probe's own process."""
            arguments = ("127.0.0.1", server.port, "/healthz", slice_seconds, PROBE_INTERVAL)
            return pool.submit(probe_latency, *arguments).result()

        for index in range(count):
            for side in in_turn(("after", "before"), index):
                server = servers[side]
                idle[side] += probe(server)
                with flood(server.base_url, login, slice_seconds + 2, HASH_CONNECTIONS):
                    time.sleep(1)  # let the flood fill both workers
                    flooded[side] += probe(server)
    for side in ("before", "after"):
        for kind, timings in (("idle", idle[side]), ("flood", flooded[side])):
            p50, p99 = percentiles(timings)
            result.figures[f"p50 {kind}/{side}"] = p50
            result.figures[f"p99 {kind}/{side}"] = p99
