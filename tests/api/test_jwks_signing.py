"""Asymmetric access tokens (ES256, RS256) with keys kept in the database: every token names
its key (kid) and type (at+jwt), the JWKS publishes public keys only, and verification takes
the key by kid within the configured algorithm family."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jose import jwt

from A_DatabasePackage.settings import Settings
from E_SecurityPackage.jwk_keys import generate_private_key, private_pem, thumbprint
from I_ControllerPackage.app_factory import create_app
from tests.admin_support import assert_error, create_admin, sign, unverified_claims
from tests.jwks_support import (
    PRIVATE_MEMBERS,
    asymmetric_settings,
    foreign_es256_token,
    jwks_of,
    random_kid,
    verify_with_jwks,
)
from tests.support import (
    STRONG_PASSWORD,
    TEST_SECRET_KEY,
    FakeClock,
    bearer,
    login,
    make_settings,
    register,
)


@pytest.fixture(params=["ES256", "RS256"])
def algorithm(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def settings(database_url: str, backend_redis_url: str | None, algorithm: str) -> Settings:
    return asymmetric_settings(database_url, algorithm, backend_redis_url)


def test_a_token_carries_kid_and_typ_and_verifies_with_the_jwks(
    client: TestClient, algorithm: str
) -> None:
    user = register(client, "alice")
    token = login(client, "alice")
    header = jwt.get_unverified_header(token)
    assert header["alg"] == algorithm
    assert header["typ"] == "at+jwt"
    keys = jwks_of(client)
    assert [key["kid"] for key in keys] == [header["kid"]]
    # The kid is the RFC 7638 thumbprint of the published key.
    assert thumbprint(keys[0]) == header["kid"]
    claims = verify_with_jwks(token, keys)
    assert claims["sub"] == str(user["id"])
    assert client.get("/users/me", headers=bearer(token)).status_code == 200


def test_the_jwks_holds_public_members_only(client: TestClient, algorithm: str) -> None:
    response = client.get("/.well-known/jwks.json")
    assert response.headers["cache-control"] == "public, max-age=600"
    (key,) = response.json()["keys"]
    assert key["kty"] == ("EC" if algorithm == "ES256" else "RSA")
    assert key["use"] == "sig"
    assert key["alg"] == algorithm
    assert not set(key) & set(PRIVATE_MEMBERS)
    assert "PRIVATE" not in response.text


def test_the_discovery_document_points_at_the_jwks(client: TestClient, algorithm: str) -> None:
    response = client.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    body = response.json()
    assert body["issuer"] == "auth-service"
    assert body["jwks_uri"] == "http://testserver/.well-known/jwks.json"
    assert body["token_endpoint"] == "http://testserver/login"
    assert body["introspection_endpoint"] == "http://testserver/token/introspect"
    assert body["id_token_signing_alg_values_supported"] == [algorithm]


def test_a_token_signed_by_an_unknown_key_is_refused(client: TestClient) -> None:
    register(client, "alice")
    claims = unverified_claims(login(client, "alice"))
    for kid in (random_kid(), jwks_of(client)[0]["kid"]):
        forged = foreign_es256_token(claims, kid)
        assert_error(client.get("/users/me", headers=bearer(forged)), 401, "INVALID_TOKEN")


def test_an_hmac_token_is_refused_whatever_its_kid(client: TestClient) -> None:
    """Algorithm confusion: the public key used as an HMAC secret, or the old SECRET_KEY."""
    register(client, "alice")
    token = login(client, "alice")
    claims = unverified_claims(token)
    kid = jwt.get_unverified_header(token)["kid"]
    public = json.dumps(jwks_of(client)[0])
    for key in (TEST_SECRET_KEY, public):
        forged = jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid, "typ": "at+jwt"})
        assert_error(client.get("/users/me", headers=bearer(forged)), 401, "INVALID_TOKEN")
    assert_error(client.get("/users/me", headers=bearer(sign(claims))), 401, "INVALID_TOKEN")


def test_a_token_without_kid_or_at_jwt_type_is_refused(app: FastAPI, client: TestClient) -> None:
    register(client, "alice")
    claims = unverified_claims(login(client, "alice"))
    signer = app.state.security.tokens.keys.signing_key()
    pem = signer.signer.to_pem().decode()
    for headers in ({"typ": "at+jwt"}, {"kid": signer.kid}, {"kid": signer.kid, "typ": "JWT"}):
        forged = jwt.encode(claims, pem, algorithm=signer.algorithm, headers=headers)
        assert_error(client.get("/users/me", headers=bearer(forged)), 401, "INVALID_TOKEN")
    good = jwt.encode(
        claims, pem, algorithm=signer.algorithm, headers={"kid": signer.kid, "typ": "at+jwt"}
    )
    assert client.get("/users/me", headers=bearer(good)).status_code == 200


def test_every_worker_signs_with_the_same_database_key(
    settings: Settings, clock: FakeClock
) -> None:
    """Two apps on one database (two workers, or two instances) verify each other's tokens."""
    first, second = create_app(settings, clock=clock), create_app(settings, clock=clock)
    with TestClient(first) as one, TestClient(second) as two:
        register(one, "alice")
        token_one, token_two = login(one, "alice"), login(two, "alice")
        kid = jwt.get_unverified_header(token_one)["kid"]
        assert jwt.get_unverified_header(token_two)["kid"] == kid
        assert two.get("/users/me", headers=bearer(token_one)).status_code == 200
        assert one.get("/users/me", headers=bearer(token_two)).status_code == 200


def test_private_keys_are_stored_encrypted(app: FastAPI, client: TestClient) -> None:
    rows: list[dict[str, Any]] = []
    with app.state.unit_of_work_factory() as uow:
        for row in uow.signing_keys.all():
            rows.append({"public": row.public_jwk, "private": row.private_key_encrypted})
    assert len(rows) == 1
    assert "PRIVATE" not in rows[0]["private"]
    assert not set(json.loads(rows[0]["public"])) & set(PRIVATE_MEMBERS)


@pytest.mark.backends("sqlite")
def test_another_encryption_key_cannot_sign(settings: Settings, clock: FakeClock) -> None:
    """Keys made under one SIGNING_KEY_ENCRYPTION_KEY do not decrypt under another: signing
    fails closed (503), it never falls back to anything."""
    with TestClient(create_app(settings, clock=clock)) as client:
        register(client, "alice")
    other = settings.model_copy(update={"SIGNING_KEY_ENCRYPTION_KEY": None})
    with TestClient(create_app(other, clock=clock)) as client:
        response = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
        assert_error(response, 503, "SERVICE_UNAVAILABLE")


@pytest.mark.backends("sqlite")
def test_a_pem_file_key_signs_and_is_published(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    pem = tmp_path / "signing.pem"
    pem.write_text(private_pem(generate_private_key("RS256")))
    settings = make_settings(database_url, JWT_ALGORITHM="RS256", JWT_PRIVATE_KEY_FILE=pem)
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        create_admin(app, "root")
        token = login(client, "root")
        (published,) = jwks_of(client)
        assert jwt.get_unverified_header(token)["kid"] == published["kid"] == thumbprint(published)
        verify_with_jwks(token, [published])
        rotate = client.post("/admin/keys/rotate", headers=bearer(token))
        assert_error(rotate, 409, "KEYS_NOT_MANAGED")


@pytest.mark.parametrize("algorithm", ["RS256"])  # the slower key to make: a wider race
def test_workers_starting_at_once_make_one_first_key(settings: Settings, clock: FakeClock) -> None:
    starting = threading.Barrier(4)
    errors: list[BaseException] = []

    def start() -> None:
        app = create_app(settings, clock=clock)
        starting.wait()
        try:
            with TestClient(app):
                pass
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with TestClient(create_app(settings, clock=clock)) as client:
        assert len(jwks_of(client)) == 1
