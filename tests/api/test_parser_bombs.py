"""Bodies and tokens that the parsers refuse with something else than a syntax error (JSON
nested past the recursion limit, integers past Python's 4,300-digit limit) answer 422 or
401 INVALID_TOKEN on every route, never a 500 or a traceback in the log; U+0000 in any field
of the OAuth2 form, the ignored client fields included, is a 422."""

from __future__ import annotations

import base64
import logging

import pytest
from fastapi.testclient import TestClient

from tests.support import STRONG_PASSWORD, bearer, login, register

pytestmark = pytest.mark.backends("sqlite")

DEEP_ARRAY = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 2500 + "1" + "}" * 2500
LONG_NUMBER = '{"username": "alice", "password": ' + "9" * 5000 + "}"
BOMBS = (DEEP_ARRAY, DEEP_OBJECT, LONG_NUMBER)
JSON_ROUTES = ("/register", "/login", "/users/code", "/token/refresh")


def _segment(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize("path", JSON_ROUTES)
@pytest.mark.parametrize("body", BOMBS, ids=("deep-array", "deep-object", "long-number"))
def test_a_body_beyond_the_parser_is_a_422(
    client: TestClient, caplog: pytest.LogCaptureFixture, path: str, body: str
) -> None:
    assert len(body.encode()) < 16 * 1024
    with caplog.at_level(logging.INFO):
        answer = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "VALIDATION_ERROR"
    assert "Traceback" not in caplog.text


def test_a_signed_in_body_beyond_the_parser_is_a_422(client: TestClient) -> None:
    register(client)
    token = login(client)
    headers = {**bearer(token), "Content-Type": "application/json"}
    for method, path in (("PUT", "/update"), ("DELETE", "/delete"), ("POST", "/logout")):
        answer = client.request(method, path, content=DEEP_ARRAY, headers=headers)
        assert answer.status_code == 422, (path, answer.text)
    assert client.get("/users/me", headers=bearer(token)).status_code == 200


DEEP_HEADER = _segment(b'{"a":' + b"[" * 3000 + b"]" * 3000 + b"}") + ".e30.c2ln"
DEEP_PAYLOAD = _segment(b'{"alg":"HS256"}') + "." + _segment(b"[" * 3000 + b"]" * 3000) + ".c2ln"
LONG_NUMBER_HEADER = _segment(b'{"alg":"HS256","n":' + b"9" * 5000 + b"}") + ".e30.c2ln"


@pytest.mark.parametrize(
    "token",
    [DEEP_HEADER, DEEP_PAYLOAD, LONG_NUMBER_HEADER, "a" * (8 * 1024 + 1)],
    ids=("deep-header", "deep-payload", "long-number-header", "over-8-KiB"),
)
def test_a_token_beyond_the_parser_is_invalid(
    client: TestClient, caplog: pytest.LogCaptureFixture, token: str
) -> None:
    with caplog.at_level(logging.INFO):
        answer = client.get("/users/me", headers=bearer(token))
    assert answer.status_code == 401, answer.text
    assert answer.json()["code"] == "INVALID_TOKEN"
    assert answer.headers["www-authenticate"].lower().startswith("bearer")
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("field", ["scope", "client_id", "client_secret", "grant_type"])
def test_a_nul_in_any_field_of_the_oauth2_form_is_a_422(client: TestClient, field: str) -> None:
    register(client)
    form = {"username": "alice", "password": STRONG_PASSWORD, "grant_type": "password"}
    form[field] = "pass\x00word" if field == "grant_type" else "x\x00y"
    answer = client.post("/login", data=form)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "VALIDATION_ERROR"
    clean = {**form, field: "password" if field == "grant_type" else "xy"}
    assert client.post("/login", data=clean).status_code == 200
