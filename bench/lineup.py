"""The servers one backend's run compares, started together, and the bearer tokens they
accept: before and after (the service), the bare JWT app and fastapi-users."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from bench.argon2_rate import PASSWORD
from bench.checkouts import PROJECT_ROOT, Checkout
from bench.servers import BENCH_SECRET_KEY, WORKERS, Server, base_env, free_port, serve, service_env

PEERS_DIR = PROJECT_ROOT / "bench" / "peers"
PEER_EMAIL = "bench@example.com"


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
