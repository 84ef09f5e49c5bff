"""The Dockerfile, checked as far as a machine without a Docker engine allows: its stages, user,
health check and copied files; its HEALTHCHECK command against a running service; and the
copied files alone running the service in production mode without writing next to the code.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.deploy_files import (
    copy_sources,
    dockerfile_stages,
)
from tests.gunicorn_server import gunicorn_server
from tests.live_server import PROJECT_ROOT, free_port, server_env, settings_env

IMAGE_UID = 10001


# Dockerfile


def test_dockerfile_is_multi_stage_and_runs_as_a_non_root_user() -> None:
    builder, runtime = dockerfile_stages()
    assert builder.name == "builder"
    assert runtime.name == "runtime"
    assert builder.base == runtime.base == "python:3.11-slim-bookworm"
    assert any("requirements.txt" in argument for argument in builder.all("COPY"))
    assert any("pip install" in argument for argument in builder.all("RUN"))
    assert "--from=builder /opt/venv /opt/venv" in runtime.all("COPY")
    # Nothing is compiled or installed with pip in the runtime stage.
    assert not any("pip" in argument for argument in runtime.all("RUN"))
    users = runtime.all("USER")
    assert users == [f"{IMAGE_UID}:{IMAGE_UID}"]
    assert runtime.instructions[-1][0] == "CMD"
    keywords = [keyword for keyword, _ in runtime.instructions]
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k in ("COPY", "RUN"))
    assert f"--uid {IMAGE_UID}" in " ".join(runtime.all("RUN"))


def test_dockerfile_health_check_port_and_command() -> None:
    runtime = dockerfile_stages()[-1]
    (check,) = runtime.all("HEALTHCHECK")
    assert "http://127.0.0.1:8000/healthz" in check
    assert re.search(r"--timeout=\d+s", check)
    assert runtime.all("EXPOSE") == ["8000"]
    assert json.loads(runtime.all("CMD")[0]) == ["gunicorn", "-c", "deploy/gunicorn_conf.py"]
    env = " ".join(runtime.all("ENV"))
    assert "APP_ENV=production" in env
    assert "BIND=0.0.0.0:8000" in env
    assert "PROMETHEUS_MULTIPROC_DIR=/tmp/" in env


def test_dockerfile_health_check_command_passes_against_a_running_service(
    tmp_path: Path, sqlite_url: str
) -> None:
    check = dockerfile_stages()[-1].all("HEALTHCHECK")[0]
    command = json.loads(check.split(" CMD ", 1)[1])
    assert command[0] == "python"
    with gunicorn_server(settings_env(sqlite_url), tmp_path, workers=1) as server:
        pointed = [part.replace("127.0.0.1:8000", f"127.0.0.1:{server.port}") for part in command]
        assert subprocess.run([sys.executable, *pointed[1:]], timeout=30).returncode == 0
    assert subprocess.run([sys.executable, *pointed[1:]], timeout=30).returncode != 0


def image_files() -> list[str]:
    runtime = dockerfile_stages()[-1]
    files: list[str] = []
    for argument in runtime.all("COPY"):
        if "--from=" not in argument:
            files.extend(copy_sources(argument))
    return files


def test_dockerfile_copies_every_package_and_nothing_missing() -> None:
    files = image_files()
    for source in files:
        assert (PROJECT_ROOT / source).exists(), source
    packages = {p.name for p in PROJECT_ROOT.iterdir() if p.is_dir() and p.name.endswith("Package")}
    assert packages <= set(files), packages - set(files)
    assert {
        "migrations",
        "alembic.ini",
        "deploy/gunicorn_conf.py",
        "deploy/worker.py",
        "deploy/http_protocol.py",
        "scripts/manage.py",
        "scripts/key_commands.py",
    } <= set(files)
    ignored = (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for secret_or_state in (".env", ".git", "*.db", "*.secret_key", ".venv"):
        assert secret_or_state in ignored


@pytest.fixture
def image_tree() -> Iterator[Path]:
    """The files the image holds, in a folder of their own (root's, readable by all)."""
    root = Path(tempfile.mkdtemp(prefix="auth-image-"))
    try:
        app = root / "app"
        for source in image_files():
            target = app / source
            target.parent.mkdir(parents=True, exist_ok=True)
            if (PROJECT_ROOT / source).is_dir():
                shutil.copytree(
                    PROJECT_ROOT / source, target, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                shutil.copy2(PROJECT_ROOT / source, target)
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def tree(root: Path) -> set[Path]:
    return {path.relative_to(root) for path in root.rglob("*")}


def test_the_image_files_alone_run_the_service_and_write_nothing_there(
    image_tree: Path, postgres_url: str
) -> None:
    """Only the copied files, from their own folder, in production mode: the service starts,
    answers, stops cleanly and writes nothing next to its code (the image's code folder is
    root's and read-only to the service's user; only /tmp is writable)."""
    app_dir = image_tree / "app"
    writable = image_tree / "tmp"
    writable.mkdir()
    before = tree(app_dir)
    port = free_port()
    env = settings_env(
        postgres_url,
        APP_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(48),
        MFA_ENCRYPTION_KEY=secrets.token_urlsafe(48),
        ARGON2_MEMORY_KIB="19456",
        ARGON2_TIME_COST="2",
        BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
        PROMETHEUS_MULTIPROC_DIR=str(writable / "metrics"),
        TMPDIR=str(writable),
        HOME="/nonexistent",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("PYTHONPATH")  # only the copied tree, as in the image
    log = writable / "out.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn_conf.py"],
            cwd=app_dir,
            env=env,
            stdout=out,
            stderr=out,
        )
    try:
        assert wait_for_health(f"http://127.0.0.1:{port}", process, log) == {"status": "ok"}
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert ready.json() == {"status": "ok", "checks": {"database": "ok"}}
        assert "auth_http_requests_total" in httpx.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0, log.read_text()
    output = log.read_text()
    assert "Traceback" not in output
    assert all(json.loads(line) for line in output.splitlines())
    assert tree(app_dir) == before


def wait_for_health(base: str, process: subprocess.Popen[bytes], log: Path) -> Any:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            response = httpx.get(f"{base}/healthz", timeout=2)
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(log.read_text())


def test_the_image_files_alone_run_the_management_command(image_tree: Path) -> None:
    """`python -m scripts.manage` (the first admin, signing keys) imports from the copied
    files alone: a module the Dockerfile forgot fails here."""
    env = server_env(HOME="/nonexistent", PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH")
    result = subprocess.run(
        [sys.executable, "-m", "scripts.manage", "--help"],
        cwd=image_tree / "app",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "keys" in result.stdout
