"""Transport-level input rules: media types, unparsable bodies, body size, query strings,
and the two routes that are not about accounts (/healthz and an unknown path)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from A_DatabasePackage.database import Database
from tests.admin_support import create_admin_token
from tests.support import STRONG_PASSWORD, bearer, register, user_count

LIMIT = 16 * 1024
REGISTER_BODY = {"username": "alice", "email": "alice@example.com", "password": STRONG_PASSWORD}
JSON = {"Content-Type": "application/json"}


def padded_json(body: dict[str, Any], size: int) -> bytes:
    """`body` as JSON, padded with insignificant whitespace to exactly `size` bytes."""
    encoded = json.dumps(body).encode()
    assert len(encoded) < size
    return encoded[:-1] + b" " * (size - len(encoded)) + b"}"


def chunks(payload: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(payload), size):
        yield payload[start : start + size]


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"detail", "code"}
    assert body["code"] == code
    return body


def assert_unsupported(response: httpx.Response) -> None:
    body = assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert isinstance(body["detail"], str)


def assert_unparsable(response: httpx.Response) -> None:
    body = assert_error(response, 422, "VALIDATION_ERROR")
    assert isinstance(body["detail"], list)
    assert body["detail"]


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(("method", "path"), [("GET", "/nope"), ("POST", "/api/v1/login")])
def test_unknown_route_is_a_json_404(client: TestClient, method: str, path: str) -> None:
    body = assert_error(client.request(method, path, json={}), 404, "NOT_FOUND")
    assert isinstance(body["detail"], str)
    assert re.fullmatch(r"[A-Z][A-Z_]*", body["code"])


def test_json_with_a_charset_is_json(client: TestClient) -> None:
    response = client.post(
        "/register",
        content=json.dumps(REGISTER_BODY).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("path", ["/register", "/login", "/users/code"])
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "text/json", "application/jsonx"]
)
def test_non_json_body_is_415(
    client: TestClient, database: Database, path: str, content_type: str
) -> None:
    payload = json.dumps(REGISTER_BODY).encode()
    response = client.post(path, content=payload, headers={"Content-Type": content_type})
    assert_unsupported(response)
    assert user_count(database) == 0


@pytest.mark.parametrize("path", ["/register", "/login", "/users/code"])
def test_body_without_content_type_is_415(
    client: TestClient, database: Database, path: str
) -> None:
    response = client.post(path, content=json.dumps(REGISTER_BODY).encode())
    assert "content-type" not in response.request.headers
    assert_unsupported(response)
    assert user_count(database) == 0


def test_form_is_only_for_login(client: TestClient, database: Database) -> None:
    assert_unsupported(client.post("/register", data=REGISTER_BODY))
    assert_unsupported(client.post("/register", data=REGISTER_BODY, files={"f": b"x"}))
    assert user_count(database) == 0
    register(client, "alice")
    credentials = {"username": "alice", "password": STRONG_PASSWORD}
    assert_unsupported(client.post("/users/code", data=credentials))
    token = client.post("/login", data=credentials).json()["access_token"]
    response = client.put("/update", data={"full_name": "Alice"}, headers=bearer(token))
    assert_unsupported(response)
    assert client.get("/users/me", headers=bearer(token)).json()["full_name"] is None


def test_empty_register_body_is_422(client: TestClient) -> None:
    assert_unparsable(client.post("/register"))
    assert_unparsable(client.post("/register", content=b"", headers=JSON))


@pytest.mark.parametrize("path", ["/register", "/login", "/users/code"])
@pytest.mark.parametrize(
    "payload",
    [
        b'{"username": "alice", "password": ',
        b"not json",
        b"{'username': 'alice'}",
        b'{"username": "alice",}',
        b"[]",
        b'"alice"',
        b"null",
        json.dumps(REGISTER_BODY).encode("utf-16"),
        json.dumps({**REGISTER_BODY, "full_name": "Zoé"}, ensure_ascii=False).encode("latin-1"),
        b'{"username": "alice", "password": "\xff\xfe correct horse battery"}',
    ],
)
def test_unparsable_json_is_422(
    client: TestClient, database: Database, path: str, payload: bytes
) -> None:
    assert_unparsable(client.post(path, content=payload, headers=JSON))
    assert user_count(database) == 0


@pytest.mark.parametrize("password", [123456789012345, None, True, ["a long password!!"], {}])
def test_password_of_another_type_is_422(
    client: TestClient, database: Database, password: Any
) -> None:
    for path in ("/register", "/login", "/users/code"):
        body = {**REGISTER_BODY, "password": password}
        if path != "/register":
            body = {"username": "alice", "password": password}
        response = client.post(path, json=body)
        assert_unparsable(response)
        assert ["body", "password"] in [item["loc"] for item in response.json()["detail"]]
    assert user_count(database) == 0


@pytest.mark.parametrize("path", ["/register", "/login", "/users/code"])
def test_body_over_16_kib_with_honest_length_is_413(
    client: TestClient, database: Database, path: str
) -> None:
    payload = padded_json(REGISTER_BODY, LIMIT + 1)
    response = client.post(path, content=payload, headers=JSON)
    assert response.request.headers["content-length"] == str(LIMIT + 1)
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert user_count(database) == 0


def test_large_declared_length_is_413(client: TestClient) -> None:
    payload = padded_json(REGISTER_BODY, 10 * LIMIT)
    assert_error(client.post("/register", content=payload, headers=JSON), 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize("path", ["/register", "/login"])
def test_chunked_body_over_16_kib_is_413(client: TestClient, database: Database, path: str) -> None:
    payload = padded_json(REGISTER_BODY, LIMIT + 1)
    response = client.post(path, content=chunks(payload), headers=JSON)
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert user_count(database) == 0


def test_body_longer_than_its_content_length_is_413(client: TestClient, database: Database) -> None:
    payload = padded_json(REGISTER_BODY, 2 * LIMIT)
    response = client.post("/register", content=payload, headers={**JSON, "Content-Length": "100"})
    assert response.request.headers["content-length"] == "100"
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert user_count(database) == 0


def test_body_of_exactly_16_kib_is_accepted(client: TestClient, database: Database) -> None:
    payload = padded_json(REGISTER_BODY, LIMIT)
    assert len(payload) == LIMIT
    response = client.post("/register", content=payload, headers=JSON)
    assert response.status_code == 201, response.text
    login_payload = padded_json({"username": "alice", "password": STRONG_PASSWORD}, LIMIT)
    response = client.post("/login", content=chunks(login_payload), headers=JSON)
    assert response.status_code == 200, response.text
    assert user_count(database) == 1


@pytest.mark.parametrize("query", ["x=%00", "offset=%00", "limit=1%002", "a%00b=1"])
def test_nul_in_a_query_string_is_422(client: TestClient, database: Database, query: str) -> None:
    assert_unparsable(client.get(f"/healthz?{query}"))
    assert_unparsable(client.post(f"/register?{query}", json=REGISTER_BODY))
    assert user_count(database) == 0
    assert client.get("/healthz?x=%2500").status_code == 200


def test_nul_in_encoded_query_params_is_422(client: TestClient, database: Database) -> None:
    assert_unparsable(client.get("/healthz", params={"probe": "a\x00b"}))
    assert_unparsable(client.post("/login", params={"next": "\x00"}, json={}))
    assert user_count(database) == 0


def test_nul_in_the_users_query_is_422_for_an_admin(app: FastAPI, client: TestClient) -> None:
    token = create_admin_token(app, client)
    assert client.get("/users?offset=0", headers=bearer(token)).status_code == 200
    for query in ("offset=%00", "limit=%0010", "offset=0&x=%00"):
        assert_unparsable(client.get(f"/users?{query}", headers=bearer(token)))
