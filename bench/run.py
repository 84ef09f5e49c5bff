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

This module is the command line and the order of the run; the servers and their tokens are in
bench/lineup.py, the phases in bench/phases.py (slices in bench/slicing.py), the table in
bench/table.py and the RESULTS.md section in bench/report.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from bench.argon2_rate import default_parameters  # noqa: E402
from bench.checkouts import (  # noqa: E402
    Checkout,
    after_checkout,
    before_checkout,
    package_versions,
    peer_python,
)
from bench.figures import BackendResult  # noqa: E402
from bench.lineup import peer_token, service_token, start_servers  # noqa: E402
from bench.load import wrk_binary  # noqa: E402
from bench.machine import load_average, machine  # noqa: E402
from bench.phases import (  # noqa: E402
    FAST_CONNECTIONS,
    HASH_CONNECTIONS,
    PROBE_INTERVAL,
    hash_phase,
    healthz_phase,
    me_phase,
)
from bench.report import record, section  # noqa: E402
from bench.servers import (  # noqa: E402
    DEFAULT_POSTGRES_URL,
    WORKERS,
    postgres_server_version,
    private_postgres_database,
)
from bench.slicing import slices  # noqa: E402

BEFORE_COMMIT = "da1e843"
PHASES = ("me", "hash", "healthz")
BACKENDS = ("sqlite", "postgresql")
SERVICE_PACKAGES = (
    *("fastapi", "starlette", "uvicorn", "gunicorn", "httptools", "uvloop", "pydantic"),
    *("SQLAlchemy", "psycopg2-binary", "psycopg", "argon2-cffi", "python-jose"),
)
PEER_PACKAGES = (
    *("fastapi-users", "fastapi", "uvicorn", "httptools", "uvloop", "pydantic"),
    *("SQLAlchemy", "aiosqlite", "pwdlib", "PyJWT"),
)


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
    """The options of `argv` (else the command line); exits with usage on a bad one."""
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
    """Run the phases asked for on each backend, print the table and maybe record it: 0."""
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
