"""Structured logs: one JSON line per request with its id, route template, status, duration and
user, X-Request-ID taken from the client when sane or made and always echoed, application
events on the same logger with the same id, and never a password, token, hash or
Authorization header.

The main flow runs against a real uvicorn process (started with --no-access-log, as
docs/operations.md says) and reads what it wrote to stdout.
"""

from __future__ import annotations

import json
import logging
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from I_ControllerPackage.app_factory import create_app
from I_ControllerPackage.json_logging import JsonFormatter, current_request_id
from tests.live_server import PROJECT_ROOT, live_server, settings_env
from tests.support import OTHER_STRONG_PASSWORD, STRONG_PASSWORD, bearer, make_settings

REQUEST_FIELDS = {
    "time",
    "level",
    "logger",
    "message",
    "pid",
    "request_id",
    "method",
    "route",
    "status",
    "duration_ms",
    "user_id",
    "client_ip",
    "error_code",
}
WRONG_PASSWORD = "definitely not the password"


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        record = json.loads(line)  # every line is one JSON object
        assert isinstance(record, dict), line
        parsed.append(record)
    return parsed


def request_lines(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["logger"] == "auth_service.requests"]


class Flow:
    """Sends each request with its own X-Request-ID and remembers what must never be logged."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.sent: dict[str, httpx.Response] = {}
        self.secrets: set[str] = {STRONG_PASSWORD, OTHER_STRONG_PASSWORD, WRONG_PASSWORD}

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        request_id = f"flow-{len(self.sent):02d}"
        headers = {"X-Request-ID": request_id, **kwargs.pop("headers", {})}
        if "Authorization" in headers:
            self.secrets.add(headers["Authorization"])
        response = self.client.request(method, path, headers=headers, **kwargs)
        assert response.headers["x-request-id"] == request_id
        self.sent[request_id] = response
        return response

    def keep_tokens(self, response: httpx.Response) -> dict[str, Any]:
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        self.secrets.update({body["access_token"], body["refresh_token"]})
        return body


def run_flow(flow: Flow) -> int:
    """Register, sign in (JSON, form, wrong password), refresh, read, change the password,
    log out, check credentials and delete: the paths where secrets pass through."""
    credentials = {"username": "alice", "password": STRONG_PASSWORD}
    created = flow.send(
        "POST",
        "/register",
        json={"username": "alice", "email": "alice@example.com", "password": STRONG_PASSWORD},
    )
    assert created.status_code == 201, created.text
    user_id: int = created.json()["id"]
    first = flow.keep_tokens(flow.send("POST", "/login", json=credentials))
    flow.keep_tokens(flow.send("POST", "/login", data=credentials))
    wrong = flow.send("POST", "/login", json={"username": "alice", "password": WRONG_PASSWORD})
    assert wrong.status_code == 401
    pair = flow.keep_tokens(
        flow.send("POST", "/token/refresh", json={"refresh_token": first["refresh_token"]})
    )
    reused = flow.send("POST", "/token/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    second = flow.keep_tokens(flow.send("POST", "/login", json=credentials))
    token = second["access_token"]
    assert flow.send("GET", "/users/me", headers=bearer(token)).status_code == 200
    assert flow.send("GET", "/users/me", headers=bearer(pair["access_token"])).status_code == 401
    changed = flow.send(
        "PUT",
        "/update",
        headers=bearer(token),
        json={"new_password": OTHER_STRONG_PASSWORD, "current_password": STRONG_PASSWORD},
    )
    assert changed.status_code == 200, changed.text
    third = flow.keep_tokens(
        flow.send("POST", "/login", json={"username": "alice", "password": OTHER_STRONG_PASSWORD})
    )
    checked = flow.send(
        "POST", "/users/code", json={"username": "alice", "password": OTHER_STRONG_PASSWORD}
    )
    assert checked.status_code == 200
    logout = flow.send(
        "POST",
        "/logout",
        headers=bearer(third["access_token"]),
        json={"refresh_token": third["refresh_token"]},
    )
    assert logout.status_code == 204
    fourth = flow.keep_tokens(
        flow.send("POST", "/login", json={"username": "alice", "password": OTHER_STRONG_PASSWORD})
    )
    deleted = flow.send(
        "DELETE",
        "/delete",
        headers=bearer(fourth["access_token"]),
        json={"password": OTHER_STRONG_PASSWORD},
    )
    assert deleted.status_code == 204, deleted.text
    return user_id


@pytest.mark.backends("sqlite", "postgresql", "postgresql+redis")
def test_a_real_flow_logs_one_line_per_request_and_no_secret(
    database_url: str, backend_redis_url: str | None, tmp_path: Path
) -> None:
    env = settings_env(
        database_url, **({"REDIS_URL": backend_redis_url} if backend_redis_url else {})
    )
    with live_server(env, PROJECT_ROOT, tmp_path, args=("--no-access-log",)) as server:
        with server.client() as client:
            flow = Flow(client)
            user_id = run_flow(flow)
            unnamed = client.get("/healthz")
        server.stop()
        stdout = server.log_path.read_text(encoding="utf-8")
        output = server.output()

    records = json_lines(stdout)  # nothing but JSON lines on stdout
    lines = request_lines(records)
    by_id: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_id.setdefault(line["request_id"], []).append(line)
    for request_id, response in flow.sent.items():
        assert len(by_id.get(request_id, [])) == 1, request_id
        line = by_id[request_id][0]
        assert set(line) == REQUEST_FIELDS, line
        assert line["status"] == response.status_code
        assert line["method"] == response.request.method
        assert line["route"] == response.request.url.path  # no route of the flow has a parameter
        assert line["client_ip"] == "127.0.0.1"
        assert isinstance(line["duration_ms"], float | int)
        assert line["duration_ms"] >= 0
        assert line["message"] == "request"
    # The made-up id of a request that sent none is a UUID4, echoed and logged once.
    made = unnamed.headers["x-request-id"]
    assert uuid.UUID(made).version == 4
    assert len(by_id[made]) == 1

    signed_in = [flow.sent[i] for i in flow.sent if "Authorization" in flow.sent[i].request.headers]
    for response in signed_in:
        line = by_id[response.request.headers["x-request-id"]][0]
        assert line["user_id"] == (user_id if response.status_code < 400 else None), line
    wrong = next(line for line in lines if line["status"] == 401 and line["route"] == "/login")
    assert wrong["error_code"] == "INVALID_CREDENTIALS"
    assert wrong["user_id"] is None

    for secret in flow.secrets:
        assert secret not in output, "a secret reached the log"
    for marker in ("$argon2", "Bearer ", "eyJ", "authorization", 'refresh_token"'):
        assert marker not in output, marker


def test_log_level_setting_filters_request_lines(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    quiet = create_app(make_settings(database_url, LOG_LEVEL="warning"))
    try:
        with TestClient(quiet) as client:
            capsys.readouterr()
            client.get("/healthz")
            assert client.get("/readyz").status_code == 200
        assert request_lines(json_lines(capsys.readouterr().out)) == []
    finally:
        logging.getLogger("auth_service").setLevel(logging.INFO)


def _format(**extra: Any) -> dict[str, Any]:
    record = logging.LogRecord(
        "auth_service.test", logging.INFO, __file__, 1, "hi %s", ("x",), None
    )
    for name, value in extra.items():
        setattr(record, name, value)
    parsed: dict[str, Any] = json.loads(JsonFormatter().format(record))
    return parsed


def test_formatter_redacts_fields_named_like_secrets() -> None:
    line = _format(
        password="p", refresh_token="t", Authorization="Bearer x", password_hash="$argon2id$", n=1
    )
    assert line["message"] == "hi x"
    assert line["password"] == line["refresh_token"] == "[redacted]"
    assert line["Authorization"] == line["password_hash"] == "[redacted]"
    assert line["n"] == 1


def test_formatter_adds_the_current_request_id_and_exceptions() -> None:
    token = current_request_id.set("ctx-1")
    try:
        try:
            raise ValueError("bad")
        except ValueError:
            record = logging.LogRecord(
                "auth_service", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
            )
        line = json.loads(JsonFormatter().format(record))
    finally:
        current_request_id.reset(token)
    assert line["request_id"] == "ctx-1"
    assert line["level"] == "ERROR"
    assert "ValueError: bad" in line["exception"]
    assert line["time"].endswith("+00:00")
