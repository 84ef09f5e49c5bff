"""One command for the whole benchmark: `python bench/run.py [--seconds 10]`.

In one run, on SQLite and on a throw-away PostgreSQL database, side by side:

- before: the commit before (--before-commit), extracted into bench/.cache/ with its own
  virtual environment; after: the tree at --after (default: this repository) with its .venv.
  Both run the production way, `gunicorn -c deploy/gunicorn_conf.py` from their root with two
  workers, production settings and default Argon2 parameters;
- the raw Argon2id verify rate of two processes (bench/argon2_rate.py);
- bench/bare_jwt_app.py, under `gunicorn -k uvicorn_worker.UvicornWorker -w 2`;
- fastapi-users 15 as documented (bench/peers/), `uvicorn --workers 2`, SQLite only.

wrk loads each server from a separate process over loopback, in alternating slices of about
2 s, so a burst of other load hits both sides of a ratio alike. The Markdown table of figures,
targets and met/missed is printed and, for a run of every phase, put on top of
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import httpx  # noqa: E402

from bench.argon2_rate import PASSWORD, default_parameters, verify_rate  # noqa: E402
from bench.checkouts import (  # noqa: E402
    Checkout,
    after_checkout,
    before_checkout,
    package_versions,
    peer_python,
)
from bench.load import (  # noqa: E402
    LoadResult,
    flood,
    lua_get,
    lua_json_post,
    lua_register,
    percentiles,
    probe_latency,
    run_wrk,
    wrk_binary,
)
from bench.report import BackendResult, load_average, machine, record, section  # noqa: E402
from bench.servers import (  # noqa: E402
    BENCH_SECRET_KEY,
    DEFAULT_POSTGRES_URL,
    WORKERS,
    Server,
    base_env,
    free_port,
    postgres_server_version,
    private_postgres_database,
    serve,
    service_env,
)

BEFORE_COMMIT = "da1e843"
PHASES = ("me", "hash", "healthz")
BACKENDS = ("sqlite", "postgresql")
HASH_CONNECTIONS = 8  # enough requests in flight to keep both workers hashing
FAST_CONNECTIONS = 16
PROBE_INTERVAL = 0.01  # a health check every 10 ms
PEERS_DIR = PROJECT_ROOT / "bench" / "peers"
PEER_EMAIL = "bench@example.com"
SERVICE_PACKAGES = (
    *("fastapi", "starlette", "uvicorn", "gunicorn", "httptools", "uvloop", "pydantic"),
    *("SQLAlchemy", "psycopg2-binary", "psycopg", "argon2-cffi", "python-jose"),
)
PEER_PACKAGES = (
    *("fastapi-users", "fastapi", "uvicorn", "httptools", "uvloop", "pydantic"),
    *("SQLAlchemy", "aiosqlite", "pwdlib", "PyJWT"),
)


@dataclass
class Tally:
    """Requests, time, server CPU and errors of one figure's slices, added up."""

    requests: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def add(self, result: LoadResult, cpu_seconds: float) -> None:
        self.requests += result.requests
        self.seconds += result.seconds
        self.cpu_seconds += cpu_seconds
        if result.non_2xx or result.socket_errors:
            self.errors.append(
                f"{result.non_2xx} non-2xx answers, {result.socket_errors} socket errors "
                f"of {result.requests}"
            )

    def record(self, key: str, result: BackendResult) -> None:
        """`rate <key>` and `cpu <key>` into the result; errors become notes."""
        if self.seconds:
            result.figures[f"rate {key}"] = self.requests / self.seconds
        if self.requests:
            result.figures[f"cpu {key}"] = self.cpu_seconds / self.requests * 1000
        result.notes += [f"{key}: {error}" for error in self.errors]


def slices(seconds: float) -> tuple[int, int]:
    """How many slices of about 2 s (whole seconds, for wrk) make `seconds`."""
    count = max(1, round(seconds / 2))
    return count, max(1, round(seconds / count))


def in_turn(sides: Sequence[str], index: int) -> Sequence[str]:
    """The sides in one order on even slices and the other on odd ones."""
    return sides if index % 2 == 0 else sides[::-1]


def measure(server: Server, script: str, seconds: float, connections: int, tally: Tally) -> None:
    before = server.cpu_seconds()
    result = run_wrk(server.base_url, script, seconds, connections)
    tally.add(result, server.cpu_seconds() - before)


def service_token(server: Server) -> str:
    """Register the bench account, sign in, check GET /users/me: the access token."""
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        account = {"username": "bench", "email": "bench@example.com", "password": PASSWORD}
        created = client.post("/register", json=account)
        if created.status_code not in (201, 409):
            raise RuntimeError(f"{server.name}: /register {created.status_code} {created.text}")
        signed_in = client.post("/login", json={"username": "bench", "password": PASSWORD})
        signed_in.raise_for_status()
        token: str = signed_in.json()["access_token"]
        client.get("/users/me", headers={"Authorization": f"Bearer {token}"}).raise_for_status()
        return token


def peer_token(server: Server) -> str:
    """fastapi-users: POST /auth/register, the /auth/jwt/login form, GET /users/me."""
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        created = client.post("/auth/register", json={"email": PEER_EMAIL, "password": PASSWORD})
        if created.status_code not in (201, 400):  # 400: REGISTER_USER_ALREADY_EXISTS
            raise RuntimeError(f"{server.name}: /auth/register {created.status_code}")
        signed_in = client.post(
            "/auth/jwt/login", data={"username": PEER_EMAIL, "password": PASSWORD}
        )
        signed_in.raise_for_status()
        token: str = signed_in.json()["access_token"]
        me = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        me.raise_for_status()
        if me.json()["email"] != PEER_EMAIL:
            raise RuntimeError(f"{server.name}: /users/me answered {me.text}")
        return token


@contextmanager
def start_servers(
    backend: str,
    urls: dict[str, str],
    checkouts: dict[str, Checkout],
    peer: Path | None,
    work_dir: Path,
) -> Iterator[dict[str, Server]]:
    """Before, after, the bare JWT app and, given its Python, fastapi-users."""
    servers: dict[str, Server] = {}
    with ExitStack() as stack:
        for side, checkout in checkouts.items():
            port = free_port()
            metrics = Path(tempfile.mkdtemp(prefix=f"metrics-{side}-", dir=work_dir))
            servers[side] = stack.enter_context(
                serve(
                    f"{backend} {checkout.label}",
                    [str(checkout.python), "-m", "gunicorn", "-c", "deploy/gunicorn_conf.py"],
                    env=service_env(checkout.root, urls[side], port, metrics),
                    cwd=checkout.root,
                    port=port,
                    log_dir=work_dir,
                )
            )
        port = free_port()
        metrics = Path(tempfile.mkdtemp(prefix="metrics-bare-", dir=work_dir))
        bare_env = service_env(PROJECT_ROOT, urls["after"], port, metrics)
        bare_command = [sys.executable, "-m", "gunicorn", "-k", "uvicorn_worker.UvicornWorker"]
        bare_command += ["-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "--no-control-socket"]
        servers["bare"] = stack.enter_context(
            serve(
                f"{backend} bare JWT app",
                [*bare_command, "bench.bare_jwt_app:app"],
                env=bare_env,
                cwd=work_dir,
                port=port,
                log_dir=work_dir,
            )
        )
        if peer is not None:
            servers["peer"] = stack.enter_context(start_peer(peer, work_dir))
        yield servers


@contextmanager
def start_peer(python: Path, work_dir: Path) -> Iterator[Server]:
    """fastapi-users on a new SQLite file. Its table is created before the two workers start,
    whose start-up (the example's lifespan) would otherwise race to create it."""
    env = base_env(
        DATABASE_URL=f"sqlite+aiosqlite:///{work_dir / 'fastapi_users.db'}",
        SECRET=BENCH_SECRET_KEY,
    )
    create = (
        "import asyncio, fastapi_users_app as app\n"
        "async def main():\n"
        "    await app.create_db_and_tables()\n"
        "    await app.engine.dispose()\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([str(python), "-c", create], cwd=PEERS_DIR, env=env, check=True)
    port = free_port()
    command = [str(python), "-m", "uvicorn", "fastapi_users_app:app", "--app-dir", str(PEERS_DIR)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS)]
    command += ["--no-access-log"]
    with serve(
        "fastapi-users",
        command,
        env=env,
        cwd=work_dir,
        port=port,
        log_dir=work_dir,
        ready_path="/docs",
    ) as server:
        yield server


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


@dataclass(frozen=True)
class Options:
    """What the command line asks for."""

    seconds: float
    backends: list[str]
    phases: set[str]
    before_commit: str
    after: Path
    postgres_url: str
    record: bool


def bench_backend(
    backend: str,
    urls: dict[str, str],
    checkouts: dict[str, Checkout],
    peer: Path | None,
    options: Options,
    work_dir: Path,
) -> BackendResult:
    """Every phase asked for, on one backend, with every server running."""
    result = BackendResult(backend)
    with start_servers(backend, urls, checkouts, peer, work_dir) as servers:
        tokens = {side: service_token(servers[side]) for side in ("before", "after")}
        tokens["bare"] = tokens["after"]
        if "peer" in servers:
            tokens["peer"] = peer_token(servers["peer"])
        if "me" in options.phases:
            print(f"[{backend}] GET /users/me: {', '.join(servers)}", flush=True)
            me_phase(servers, tokens, options.seconds, result)
        if "hash" in options.phases:
            print(f"[{backend}] raw Argon2id, POST /login, POST /register", flush=True)
            hash_phase(servers, options.seconds, result)
        if "healthz" in options.phases:
            print(f"[{backend}] GET /healthz idle and with /login flooded", flush=True)
            healthz_phase(servers, options.seconds, result)
    return result


def parse_arguments(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="per side of each comparison (default 10)"
    )
    parser.add_argument("--backends", default=",".join(BACKENDS), help="some of sqlite,postgresql")
    parser.add_argument(
        "--phases", default=",".join(PHASES), help="some of me,hash,healthz (others: no record)"
    )
    parser.add_argument("--before-commit", default=BEFORE_COMMIT, help="the version to compare")
    parser.add_argument(
        "--after", type=Path, default=PROJECT_ROOT, help="the checkout measured as 'after'"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES_URL),
        help="a server where this user may create databases (default: TEST_DATABASE_URL or "
        "postgres on 127.0.0.1:5432)",
    )
    parser.add_argument("--no-record", action="store_true", help="do not write bench/RESULTS.md")
    arguments = parser.parse_args(argv)
    phases = set(arguments.phases.split(","))
    backends = arguments.backends.split(",")
    if not phases <= set(PHASES):
        parser.error(f"--phases takes some of {','.join(PHASES)}")
    if not set(backends) <= set(BACKENDS):
        parser.error(f"--backends takes some of {','.join(BACKENDS)}")
    return Options(
        seconds=arguments.seconds,
        backends=backends,
        phases=phases,
        before_commit=arguments.before_commit,
        after=arguments.after,
        postgres_url=arguments.postgres_url,
        record=not arguments.no_record and phases == set(PHASES),
    )


def run_details(
    checkouts: dict[str, Checkout], peer: Path | None, seconds: float, machine_lines: list[str]
) -> list[str]:
    """The list under the table: versions, machine, servers and load."""
    before, after = checkouts["before"], checkouts["after"]
    count, slice_seconds = slices(seconds)
    memory, time_cost, parallelism = default_parameters()
    return [
        f"- before: {before.description}; after: {after.description}",
        f"- before's packages: {package_versions(before.python, SERVICE_PACKAGES)}",
        f"- after's packages: {package_versions(after.python, SERVICE_PACKAGES)}",
        *([f"- fastapi-users' packages: {package_versions(peer, PEER_PACKAGES)}"] if peer else []),
        *machine_lines,
        f"- servers: `gunicorn -c deploy/gunicorn_conf.py`, WEB_CONCURRENCY={WORKERS}, "
        f"APP_ENV=production, Argon2id m={memory} KiB t={time_cost} p={parallelism}; bare app "
        f"`gunicorn -k uvicorn_worker.UvicornWorker -w {WORKERS}`; fastapi-users `uvicorn "
        f"--workers {WORKERS} --no-access-log` on SQLite",
        f"- {count} slice(s) of {slice_seconds} s per side of each comparison; wrk -t1, "
        f"{HASH_CONNECTIONS} connections on /login and /register, {FAST_CONNECTIONS} on "
        f"/users/me; /healthz probed every {PROBE_INTERVAL * 1000:g} ms on one connection, "
        f"from 1 s into a /login flood of {HASH_CONNECTIONS} connections",
    ]


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(argv)
    started = time.monotonic()
    load_before = load_average()
    wrk_binary()
    checkouts = {
        "before": before_checkout(options.before_commit),
        "after": after_checkout(options.after),
    }
    wants_peer = "sqlite" in options.backends and "me" in options.phases
    peer = peer_python() if wants_peer else None
    results: list[BackendResult] = []
    pg_version: str | None = None
    with tempfile.TemporaryDirectory(prefix="auth-bench-") as temporary:
        work_dir = Path(temporary)
        if "sqlite" in options.backends:
            urls = {side: f"sqlite:///{work_dir / side}.db" for side in checkouts}
            results.append(bench_backend("SQLite", urls, checkouts, peer, options, work_dir))
        if "postgresql" in options.backends:
            pg_version = postgres_server_version(options.postgres_url)
            with ExitStack() as databases:
                urls = {
                    side: databases.enter_context(
                        private_postgres_database(
                            options.postgres_url, f"auth_bench_{os.getpid()}_{side}"
                        )
                    )
                    for side in checkouts
                }
                results.append(
                    bench_backend("PostgreSQL", urls, checkouts, None, options, work_dir)
                )
    machine_lines = machine(load_before, load_average(), pg_version)
    text = section(results, run_details(checkouts, peer, options.seconds, machine_lines))
    print()
    print(text)
    print(f"run took {time.monotonic() - started:.0f} s")
    if options.record:
        record(text)
        print("recorded in bench/RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
