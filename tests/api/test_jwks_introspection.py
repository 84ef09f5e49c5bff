"""POST /token/introspect (RFC 7662): live, expired and ended tokens, a revoked key, and the
client credential it requires."""

from __future__ import annotations

import base64
import hashlib

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jose import jwt

from A_DatabasePackage.settings import Settings
from I_ControllerPackage.app_factory import create_app
from tests.admin_support import assert_error, create_admin, sign, unverified_claims
from tests.jwks_support import asymmetric_settings
from tests.support import FakeClock, bearer, login, make_settings, register

CLIENT_ID = "gateway"
CLIENT_SECRET = "a-random-client-secret-for-the-introspection-tests"
CLIENTS = f"{CLIENT_ID}:{hashlib.sha256(CLIENT_SECRET.encode()).hexdigest()}"


def basic(client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> dict[str, str]:
    encoded = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


@pytest.fixture(params=["ES256", "HS256"])
def algorithm(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def settings(database_url: str, backend_redis_url: str | None, algorithm: str) -> Settings:
    if algorithm == "HS256":
        return make_settings(
            database_url, REDIS_URL=backend_redis_url, INTROSPECTION_CLIENTS=CLIENTS
        )
    return asymmetric_settings(
        database_url, algorithm, backend_redis_url, INTROSPECTION_CLIENTS=CLIENTS
    )


def introspect(client: TestClient, token: str) -> dict[str, object]:
    response = client.post("/token/introspect", data={"token": token}, headers=basic())
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, object] = response.json()
    return body


def test_a_live_token_is_active_with_its_claims(client: TestClient) -> None:
    user = register(client, "alice")
    token = login(client, "alice")
    claims = unverified_claims(token)
    assert introspect(client, token) == {
        "active": True,
        "sub": str(user["id"]),
        "username": "alice",
        "role": "user",
        "exp": claims["exp"],
        "iat": claims["iat"],
        "iss": "auth-service",
        "aud": "auth-service",
        "jti": claims["jti"],
        "sid": claims["sid"],
        "token_type": "Bearer",
    }


def test_expired_ended_and_garbage_tokens_are_inactive(
    client: TestClient, clock: FakeClock
) -> None:
    register(client, "alice")
    ended = login(client, "alice")
    assert client.post("/logout", headers=bearer(ended)).status_code == 204
    assert introspect(client, ended) == {"active": False}
    expiring = login(client, "alice")
    forged = sign({**unverified_claims(expiring), "role": "admin"}, key="x" * 40)
    for token in ("not-a-token", forged, "a" * 9000):
        assert introspect(client, token) == {"active": False}
    assert introspect(client, expiring)["active"] is True
    clock.advance(minutes=15)
    assert introspect(client, expiring) == {"active": False}


def test_the_tokens_of_a_disabled_account_are_inactive(app: FastAPI, client: TestClient) -> None:
    user = register(client, "alice")
    token = login(client, "alice")
    create_admin(app, "root")
    admin = bearer(login(client, "root"))
    response = client.patch(f"/users/{user['id']}", json={"is_active": False}, headers=admin)
    assert response.status_code == 200
    assert introspect(client, token) == {"active": False}


@pytest.mark.parametrize("algorithm", ["ES256"])
def test_a_revoked_key_makes_its_tokens_inactive_at_once(app: FastAPI, client: TestClient) -> None:
    register(client, "alice")
    token = login(client, "alice")
    kid = jwt.get_unverified_header(token)["kid"]
    # Revoked behind this process's back (another instance, or the CLI): introspection reads
    # the key fresh, while this process's key cache still holds it.
    with app.state.unit_of_work_factory() as uow:
        row = uow.signing_keys.get(kid)
        assert row is not None
        row.revoked_at = app.state.security.clock.now()
        uow.commit()
    assert introspect(client, token) == {"active": False}


def test_the_client_must_authenticate(client: TestClient) -> None:
    register(client, "alice")
    token = login(client, "alice")
    for headers in (
        {},
        basic(secret="wrong-secret"),
        basic(client_id="other"),
        {"Authorization": "Basic !!!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        bearer(token),
    ):
        response = client.post("/token/introspect", data={"token": token}, headers=headers)
        assert_error(response, 401, "INVALID_CLIENT")
        assert CLIENT_SECRET not in response.text
    posted = client.post(
        "/token/introspect",
        data={"token": token, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    assert posted.status_code == 200
    assert posted.json()["active"] is True
    missing = client.post("/token/introspect", data={}, headers=basic())
    assert_error(missing, 422, "VALIDATION_ERROR")


@pytest.mark.backends("sqlite")
def test_no_configured_client_means_no_introspection(database_url: str) -> None:
    with TestClient(create_app(make_settings(database_url))) as client:
        response = client.post("/token/introspect", data={"token": "x"}, headers=basic())
        assert_error(response, 401, "INVALID_CLIENT")
