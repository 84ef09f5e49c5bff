"""One command for the whole benchmark: `python bench/run.py` (README "Performance").

For SQLite and for a private PostgreSQL database it starts the service with two workers under
`python -m deploy.serve` (production settings, default Argon2 parameters), loads it with wrk
from separate processes over loopback, and prints (and records in bench/RESULTS.md):

1. the raw Argon2id verify rate of two processes with the service's parameters, and
   POST /login per second as a share of it (beside it, bench/bare_sign_in_app.py: the same
   verification and token with no bookkeeping, served the same way);
2. POST /register per second as a share of the same raw rate;
3. GET /users/me per second against bench/bare_jwt_app.py (same server, same workers, same
   token verification, nothing else);
4. GET /healthz p50 and p99, idle and while /login is flooded.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import httpx  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from A_DatabasePackage.settings import Settings  # noqa: E402
from bench.argon2_rate import PASSWORD, verify_rate  # noqa: E402
from bench.load import (  # noqa: E402
    LoadResult,
    lua_get,
    lua_json_post,
    lua_register,
    percentiles,
    probe_latency,
    run_wrk,
    start_wrk,
)
from bench.report import BackendResult, load_average, machine, record, section  # noqa: E402
from bench.servers import (  # noqa: E402
    BARE_APP,
    BARE_SIGN_IN_APP,
    LAUNCHER,
    SERVICE_APP,
    WORKERS,
    private_postgres_database,
    server_env,
    uvicorn_server,
)

HASH_CONNECTIONS = 8  # enough requests in flight to keep both workers hashing
FAST_CONNECTIONS = 16
PROBE_INTERVAL = 0.01  # a health check every 10 ms


def _checked(results: list[LoadResult], what: str, backend: BackendResult) -> float:
    """Requests per second over all slices; errors become notes under the table."""
    requests = sum(result.requests for result in results)
    non_2xx = sum(result.non_2xx for result in results)
    socket_errors = sum(result.socket_errors for result in results)
    if non_2xx or socket_errors:
        backend.notes.append(
            f"{what}: {non_2xx} non-2xx answers, {socket_errors} socket errors of {requests}"
        )
    seconds = sum(result.seconds for result in results)
    return requests / seconds if seconds else 0.0


def _per_request_ms(cpu_seconds: float, results: list[LoadResult]) -> float:
    requests = sum(result.requests for result in results)
    return cpu_seconds / requests * 1000 if requests else 0.0


def _slices(seconds: float) -> tuple[int, float]:
    """Figures that are compared are measured in alternating slices of about 2 s, so a burst
    of load from elsewhere on the machine hits both sides of a ratio alike."""
    count = max(1, round(seconds / 2))
    return count, max(1.0, seconds / count)


def _sign_in(base_url: str) -> str:
    with httpx.Client(base_url=base_url, timeout=60) as client:
        created = client.post(
            "/register",
            json={"username": "bench", "email": "bench@example.com", "password": PASSWORD},
        )
        if created.status_code not in (201, 409):
            raise RuntimeError(f"/register answered {created.status_code}: {created.text}")
        signed_in = client.post("/login", json={"username": "bench", "password": PASSWORD})
        signed_in.raise_for_status()
        token: str = signed_in.json()["access_token"]
        assert client.get("/users/me", headers={"Authorization": f"Bearer {token}"}).is_success
        return token


def _healthz(port: int, seconds: float, pool: ProcessPoolExecutor) -> list[float]:
    """Latencies (ms) of GET /healthz probed from another process for `seconds`."""
    return pool.submit(
        probe_latency, "127.0.0.1", port, "/healthz", seconds, PROBE_INTERVAL
    ).result()


PHASES = ("me", "hash", "healthz")


def bench_backend(
    name: str, database_url: str, seconds: float, work_dir: Path, phases: set[str]
) -> BackendResult:
    result = BackendResult(name)
    env = server_env(database_url)
    login_body = f'{{"username": "bench", "password": "{PASSWORD}"}}'
    with (
        uvicorn_server(SERVICE_APP, env, work_dir) as service,
        uvicorn_server(BARE_APP, env, work_dir) as bare,
        uvicorn_server(BARE_SIGN_IN_APP, env, work_dir) as bare_sign_in,
        ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as probe_pool,
    ):
        token = _sign_in(service.base_url)
        auth = {"Authorization": f"Bearer {token}"}
        login = lua_json_post("/login", login_body)
        count, slice_seconds = _slices(seconds)
        if "me" in phases:
            print(f"[{name}] GET /users/me and the bare JWT app, {count} slices", flush=True)
            me, mine, bares = lua_get("/users/me", auth), [], []
            me_cpu = bare_cpu = 0.0
            for _ in range(count):
                before = service.cpu_seconds()
                mine.append(run_wrk(service.base_url, me, slice_seconds, FAST_CONNECTIONS))
                me_cpu += service.cpu_seconds() - before
                before = bare.cpu_seconds()
                bares.append(run_wrk(bare.base_url, me, slice_seconds, FAST_CONNECTIONS))
                bare_cpu += bare.cpu_seconds() - before
            result.me_rate = _checked(mine, "GET /users/me", result)
            result.bare_rate = _checked(bares, "bare app", result)
            result.me_cpu = _per_request_ms(me_cpu, mine)
            result.bare_cpu = _per_request_ms(bare_cpu, bares)
        if "hash" in phases:
            print(f"[{name}] raw Argon2id, POST /login, POST /register, {count} slices", flush=True)
            raw, logins, bare_logins, registers = [], [], [], []
            login_cpu = bare_login_cpu = register_cpu = 0.0
            for index in range(count):
                raw.append(verify_rate(Settings(_env_file=None), WORKERS, slice_seconds))
                before = service.cpu_seconds()
                logins.append(run_wrk(service.base_url, login, slice_seconds, HASH_CONNECTIONS))
                login_cpu += service.cpu_seconds() - before
                before = bare_sign_in.cpu_seconds()
                bare_logins.append(
                    run_wrk(bare_sign_in.base_url, login, slice_seconds, HASH_CONNECTIONS)
                )
                bare_login_cpu += bare_sign_in.cpu_seconds() - before
                register = lua_register(f"r{int(time.time())}s{index}", PASSWORD)
                before = service.cpu_seconds()
                registers.append(
                    run_wrk(service.base_url, register, slice_seconds, HASH_CONNECTIONS)
                )
                register_cpu += service.cpu_seconds() - before
            result.argon2_rate = sum(rate for rate, _ in raw) / len(raw)
            result.verify_cpu = sum(cpu for _, cpu in raw) / len(raw) * 1000
            result.login_rate = _checked(logins, "POST /login", result)
            result.bare_login_rate = _checked(bare_logins, "bare sign-in app", result)
            result.register_rate = _checked(registers, "POST /register", result)
            result.login_cpu = _per_request_ms(login_cpu, logins)
            result.bare_login_cpu = _per_request_ms(bare_login_cpu, bare_logins)
            result.register_cpu = _per_request_ms(register_cpu, registers)
        if "healthz" in phases:
            print(f"[{name}] GET /healthz idle and with /login flooded, {count} slices", flush=True)
            idle: list[float] = []
            flooded: list[float] = []
            for _ in range(count):
                idle += _healthz(service.port, slice_seconds, probe_pool)
                flood = start_wrk(service.base_url, login, slice_seconds + 2, HASH_CONNECTIONS)
                try:
                    time.sleep(1)  # let the flood fill both workers
                    flooded += _healthz(service.port, slice_seconds, probe_pool)
                finally:
                    flood.wait(timeout=slice_seconds + 60)
            result.healthz_idle = percentiles(idle)
            result.healthz_flood = percentiles(flooded)
    return result


def postgres_version(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar_one())
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--smoke", action="store_true", help="1-second phases, SQLite, no record")
    parser.add_argument("--no-record", action="store_true", help="do not write bench/RESULTS.md")
    parser.add_argument(
        "--phases", default=",".join(PHASES), help="some of me,hash,healthz (implies --no-record)"
    )
    args = parser.parse_args(argv)
    phases = set(args.phases.split(","))
    if not phases <= set(PHASES):
        parser.error(f"--phases takes some of {','.join(PHASES)}")
    seconds = 1.0 if args.smoke else args.seconds
    backends = ["sqlite"] if args.smoke else args.backends.split(",")

    load_before = load_average()
    results: list[BackendResult] = []
    pg_version: str | None = None
    with tempfile.TemporaryDirectory(prefix="auth-bench-") as temporary:
        work_dir = Path(temporary)
        for backend in backends:
            if backend == "sqlite":
                url = f"sqlite:///{work_dir / 'bench.db'}"
                results.append(bench_backend("SQLite", url, seconds, work_dir, phases))
            elif backend == "postgresql":
                with private_postgres_database() as url:
                    pg_version = postgres_version(url)
                    results.append(bench_backend("PostgreSQL", url, seconds, work_dir, phases))
            else:
                parser.error(f"unknown backend {backend!r}")
    settings = Settings(_env_file=None)
    settings_text = (
        f"service: python -m {LAUNCHER} (uvicorn), WEB_CONCURRENCY={WORKERS}, APP_ENV=production, "
        "Argon2id "
        f"m={settings.ARGON2_MEMORY_KIB} KiB t={settings.ARGON2_TIME_COST} "
        f"p={settings.ARGON2_PARALLELISM}; {seconds:g} s per phase; wrk -t1, "
        f"{HASH_CONNECTIONS} connections on /login and /register, {FAST_CONNECTIONS} on "
        f"/users/me; /healthz probed every {PROBE_INTERVAL * 1000:g} ms on one connection"
    )
    text_out = section(results, machine(load_before, load_average(), pg_version), settings_text)
    print()
    print(text_out)
    if not (args.smoke or args.no_record or phases != set(PHASES)):
        record(text_out)
        print("recorded in bench/RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
