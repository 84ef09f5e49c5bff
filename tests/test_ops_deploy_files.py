"""The deployment files, checked as far as a machine without a Docker engine allows: the
Dockerfile's stages, user, health check and copied files (and that those files alone run the
service, as the image's user when possible), the compose file's services and settings, the
gunicorn configuration, and the Grafana dashboard against what /metrics really exports.
"""

from __future__ import annotations

import json
import re
import runpy
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
import yaml
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from A_DatabasePackage.settings import Settings
from deploy.worker import ServiceWorker
from tests.deploy_files import (
    COMPOSE_FILE,
    DASHBOARD,
    DOCKERFILE,
    GRAFANA_PROVISIONING,
    GUNICORN_CONF,
    PROMETHEUS_CONFIG,
    copy_sources,
    dockerfile_stages,
    interpolate,
    load_compose,
    server_variables,
)
from tests.gunicorn_server import gunicorn_server
from tests.live_server import PROJECT_ROOT, free_port, settings_env
from tests.metrics_support import scrape
from tests.support import STRONG_PASSWORD, login, register
from tests.test_sessions_refresh import refresh, sign_in

IMAGE_UID = 10001
PROMQL_METRIC = re.compile(r"\b(auth_[a-z0-9_]+)\b")


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
    assert {"migrations", "alembic.ini", "deploy/gunicorn_conf.py", "deploy/worker.py"} <= set(
        files
    )
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


# docker-compose.yml


def compose_values() -> dict[str, str]:
    return {"POSTGRES_PASSWORD": "compose-password", "SECRET_KEY": "k" * 48}


def test_compose_names_the_services_images_and_the_dockerfile() -> None:
    compose = load_compose()
    services = compose["services"]
    assert {"app", "postgres", "redis"} <= set(services)
    assert services["app"]["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    assert (COMPOSE_FILE.parent / services["app"]["build"]["dockerfile"]) == DOCKERFILE
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    command = services["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    for name in ("postgres", "redis"):
        assert services["app"]["depends_on"][name] == {"condition": "service_healthy"}
        assert services[name]["healthcheck"]["test"]
        assert services[name]["volumes"]
    assert services["app"]["ports"] == ["8000:8000"]
    assert set(compose["volumes"]) == {"postgres-data", "redis-data"}


def test_compose_sets_only_settings_that_exist_and_they_validate() -> None:
    environment: dict[str, Any] = load_compose()["services"]["app"]["environment"]
    known = set(Settings.model_fields) | server_variables()
    assert set(environment) <= known, set(environment) - known
    values = {
        key: interpolate(str(value), **compose_values()) for key, value in environment.items()
    }
    settings_values: dict[str, Any] = {
        k: v for k, v in values.items() if k in Settings.model_fields and v != ""
    }
    settings = Settings(_env_file=None, **settings_values)
    assert settings.APP_ENV == "production"
    url = settings.database_url
    postgres = load_compose()["services"]["postgres"]["environment"]
    assert (url.host, url.port, url.database, url.username) == (
        "postgres",
        5432,
        postgres["POSTGRES_DB"],
        postgres["POSTGRES_USER"],
    )
    assert url.password == "compose-password"
    assert make_url(str(url)).get_backend_name() == "postgresql"
    assert values["REDIS_URL"] == "redis://redis:6379/0"
    assert int(values["WEB_CONCURRENCY"]) >= 1


def test_compose_stops_after_the_graceful_timeout() -> None:
    app = load_compose()["services"]["app"]
    graceful = int(app["environment"]["GRACEFUL_TIMEOUT"])
    assert int(app["stop_grace_period"].rstrip("s")) > graceful
    assert app["read_only"] is True
    assert app["tmpfs"] == ["/tmp"]  # noqa: S108 (the container's own /tmp)
    assert app["environment"]["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")  # noqa: S108


def test_compose_monitoring_profile_files_exist_and_point_at_the_app() -> None:
    services = load_compose()["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"]
        for volume in services[name]["volumes"]:
            assert (PROJECT_ROOT / volume.split(":")[0]).exists(), volume
    prometheus = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    (job,) = prometheus["scrape_configs"]
    assert job["job_name"] == "auth-service"
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"] == [{"targets": ["app:8000"]}]
    datasource = yaml.safe_load(
        (GRAFANA_PROVISIONING / "datasources" / "prometheus.yml").read_text(encoding="utf-8")
    )["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"
    provider = yaml.safe_load(
        (GRAFANA_PROVISIONING / "dashboards" / "auth-service.yml").read_text(encoding="utf-8")
    )["providers"][0]
    mounted = {v.split(":")[1] for v in services["grafana"]["volumes"]}
    assert provider["options"]["path"] in mounted


# deploy/gunicorn_conf.py


@pytest.fixture
def gunicorn_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GRACEFUL_TIMEOUT", "17")
    monkeypatch.setenv("BIND", "127.0.0.1:9999")
    return runpy.run_path(str(GUNICORN_CONF))


def test_gunicorn_config_reads_the_server_variables(gunicorn_config: dict[str, Any]) -> None:
    assert gunicorn_config["workers"] == 3
    assert gunicorn_config["graceful_timeout"] == 17
    assert gunicorn_config["bind"] == ["127.0.0.1:9999"]
    assert gunicorn_config["wsgi_app"] == "I_ControllerPackage.logic_controller:app"
    assert gunicorn_config["worker_class"] == "deploy.worker.ServiceWorker"
    assert gunicorn_config["accesslog"] is None
    assert gunicorn_config["forwarded_allow_ips"] == ""
    assert gunicorn_config["preload_app"] is False
    assert gunicorn_config["control_socket_disable"] is True
    assert callable(gunicorn_config["child_exit"])
    assert callable(gunicorn_config["on_starting"])


def test_the_worker_believes_no_proxy_header_and_sends_no_server_header() -> None:
    assert ServiceWorker.CONFIG_KWARGS["proxy_headers"] is False
    assert ServiceWorker.CONFIG_KWARGS["server_header"] is False
    assert ServiceWorker.CONFIG_KWARGS["access_log"] is False


# The Grafana dashboard


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_dashboard_is_valid_and_uses_the_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] == "auth-service"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    (variable,) = dashboard["templating"]["list"]
    assert (variable["name"], variable["type"], variable["query"]) == (
        "datasource",
        "datasource",
        "prometheus",
    )
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"]
        for target in panel["targets"]:
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]
    titles = " ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for topic in ("route and status", "p50", "p99", "sign-ins", "registrations", "reuse", "argon2"):
        assert topic in titles, topic


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_every_metric_the_dashboard_queries_is_exported(client: TestClient) -> None:
    register(client, "alice")
    login(client, "alice")
    client.post("/login", json={"username": "alice", "password": "wrong password 1"})
    first = sign_in(client)
    refresh(client, first["refresh_token"])
    refresh(client, first["refresh_token"])
    client.post("/users/code", json={"username": "alice", "password": STRONG_PASSWORD})
    exported = scrape(client).names()
    used = {name for expr in dashboard_expressions() for name in PROMQL_METRIC.findall(expr)}
    assert used <= exported, used - exported
    assert {
        "auth_http_requests_total",
        "auth_http_request_duration_seconds_bucket",
        "auth_sign_ins_total",
        "auth_registrations_total",
        "auth_token_refreshes_total",
        "auth_password_hash_seconds_bucket",
    } <= used
    # The only other series is Prometheus's own `up` of the scrape job.
    others = {e for e in dashboard_expressions() if not PROMQL_METRIC.search(e)}
    assert others == {'sum(up{job="auth-service"})'}
