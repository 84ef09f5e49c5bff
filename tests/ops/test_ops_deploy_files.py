"""The compose file's services and settings, the gunicorn configuration and worker class, and
the Grafana dashboard against what /metrics really exports.
"""

from __future__ import annotations

import json
import re
import runpy
import secrets
from pathlib import Path
from typing import Any

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
    interpolate,
    load_compose,
    server_variables,
)
from tests.live_server import PROJECT_ROOT
from tests.metrics_support import scrape
from tests.session_support import refresh, sign_in
from tests.support import STRONG_PASSWORD, login, register

PROMQL_METRIC = re.compile(r"\b(auth_[a-z0-9_]+)\b")


# docker-compose.yml


def compose_values() -> dict[str, str]:
    return {
        "POSTGRES_PASSWORD": "compose-password",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "MFA_ENCRYPTION_KEY": secrets.token_urlsafe(48),
    }


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


@pytest.mark.backends("sqlite", "postgresql")
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
