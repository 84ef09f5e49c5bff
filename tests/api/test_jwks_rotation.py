"""Rotation without downtime: standby -> active -> retired -> revoked, under traffic on two
workers of one database, with a resource server's 600-second JWKS cache as the yardstick."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jose import jwt

from A_DatabasePackage.settings import Settings
from I_ControllerPackage.app_factory import create_app
from tests.admin_support import assert_error, create_admin
from tests.jwks_support import asymmetric_settings, jwks_of, verify_with_jwks
from tests.support import FakeClock, bearer, login, make_settings, register

JWKS_CACHE = timedelta(seconds=600)


@pytest.fixture
def settings(database_url: str, backend_redis_url: str | None) -> Settings:
    return asymmetric_settings(database_url, "ES256", backend_redis_url)


def kid_of(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


def keys_by_kid(client: TestClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    response = client.get("/admin/keys", headers=headers)
    assert response.status_code == 200, response.text
    return {key["kid"]: key for key in response.json()}


@dataclass
class Traffic:
    """Sign-ins on every worker; every token still unexpired is checked on every worker and
    by a resource server whose JWKS copy is as old as its cache allows."""

    clock: FakeClock
    workers: list[TestClient]
    tokens: list[tuple[str, Any]] = field(default_factory=list)
    snapshots: list[tuple[Any, list[dict[str, str]]]] = field(default_factory=list)
    checks: int = 0

    def step(self) -> None:
        now = self.clock.now()
        self.snapshots.append((now, jwks_of(self.workers[0])))
        for worker in self.workers:
            self.tokens.append((login(worker, "alice"), now))
        live = [(t, at) for t, at in self.tokens if now - at < timedelta(minutes=15)]
        cached = next(jwks for at, jwks in self.snapshots if now - at <= JWKS_CACHE)
        for token, issued in live:
            for worker in self.workers:
                response = worker.get("/users/me", headers=bearer(token))
                assert response.status_code == 200, (kid_of(token), response.text)
            if now - issued < timedelta(seconds=1):
                verify_with_jwks(token, cached, check_times=False)
            self.checks += 1


def test_a_full_rotation_under_traffic_fails_no_verification(
    database_url: str, backend_redis_url: str | None, clock: FakeClock
) -> None:
    """The service's clock runs ahead in jumps; the workers' key caches (1 s here) run on real
    time, so the test waits for them once, as the 600 s of publication would in production."""
    settings = asymmetric_settings(
        database_url, "ES256", backend_redis_url, SIGNING_KEY_CACHE_SECONDS=1
    )
    one, two = create_app(settings, clock=clock), create_app(settings, clock=clock)
    with TestClient(one) as worker_one, TestClient(two) as worker_two:
        admin = bearer(_admin_token(one, worker_one))
        register(worker_one, "alice")
        traffic = Traffic(clock, [worker_one, worker_two])
        traffic.step()
        first = kid_of(traffic.tokens[0][0])
        assert keys_by_kid(worker_one, admin)[first]["state"] == "active"

        rotated = worker_one.post("/admin/keys/rotate", headers=admin)
        assert rotated.status_code == 201, rotated.text
        second = rotated.json()["key"]["kid"]
        assert rotated.json()["key"]["state"] == "standby"
        assert {k["kid"] for k in jwks_of(worker_one)} == {first, second}
        time.sleep(2.1)  # worker two reads the new key (SIGNING_KEY_CACHE_SECONDS)
        assert {k["kid"] for k in jwks_of(worker_two)} == {first, second}

        for _ in range(5):  # the new key is published; for 600 s (+1) the old one signs
            clock.advance(seconds=110)
            traffic.step()
            assert {kid_of(t) for t, _ in traffic.tokens} == {first}
        clock.advance(seconds=60)  # past the 600 s of the JWKS cache plus the key cache's
        for _ in range(8):  # 12 minutes: the old key's tokens still verify
            traffic.step()
            assert kid_of(traffic.tokens[-2][0]) == kid_of(traffic.tokens[-1][0]) == second
            clock.advance(seconds=90)
        admin = bearer(login(worker_one, "root"))  # the first admin token has expired
        states = keys_by_kid(worker_one, admin)
        assert (states[first]["state"], states[second]["state"]) == ("retired", "active")
        assert {k["kid"] for k in jwks_of(worker_one)} == {first, second}
        clock.advance(minutes=17)  # the last token of the old key has expired (plus slack)
        traffic.step()
        assert {k["kid"] for k in jwks_of(worker_one)} == {second}
        assert traffic.checks > 100


def test_revoking_the_signing_key_ends_its_tokens_at_once(app: FastAPI, client: TestClient) -> None:
    admin = bearer(_admin_token(app, client))
    register(client, "alice")
    token = login(client, "alice")
    old = kid_of(token)
    response = client.post(f"/admin/keys/{old}/revoke", headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "revoked"
    assert_error(client.get("/users/me", headers=bearer(token)), 401, "INVALID_TOKEN")
    assert_error(client.get("/users/me", headers=admin), 401, "INVALID_TOKEN")
    assert old not in {k["kid"] for k in jwks_of(client)}
    fresh = login(client, "alice")  # a new key signs at once
    assert kid_of(fresh) != old
    assert client.get("/users/me", headers=bearer(fresh)).status_code == 200
    assert [k["kid"] for k in jwks_of(client)] == [kid_of(fresh)]


def test_every_worker_refuses_a_revoked_key_at_once(settings: Settings, clock: FakeClock) -> None:
    """The revocation goes into the ended-token store (Redis or the database) that every
    request already asks: another worker refuses at once, though its key cache (30 s) still
    holds the key; seeing one such token, it reads its keys again and signs with the new one."""
    one, two = create_app(settings, clock=clock), create_app(settings, clock=clock)
    with TestClient(one) as worker_one, TestClient(two) as worker_two:
        admin = bearer(_admin_token(one, worker_one))
        register(worker_one, "alice")
        token = login(worker_one, "alice")
        assert worker_two.get("/users/me", headers=bearer(token)).status_code == 200
        assert worker_one.post(f"/admin/keys/{kid_of(token)}/revoke", headers=admin).is_success
        assert_error(worker_two.get("/users/me", headers=bearer(token)), 401, "INVALID_TOKEN")
        time.sleep(2.1)  # the refresh after such a token is rate-bound (every 2 s at most)
        assert_error(worker_two.get("/users/me", headers=bearer(token)), 401, "INVALID_TOKEN")
        fresh = login(worker_two, "alice")
        assert kid_of(fresh) != kid_of(token)
        assert worker_one.get("/users/me", headers=bearer(fresh)).status_code == 200
        assert worker_two.get("/users/me", headers=bearer(fresh)).status_code == 200


def test_rotation_if_older_than_and_errors(app: FastAPI, client: TestClient) -> None:
    admin = bearer(_admin_token(app, client))
    skipped = client.post("/admin/keys/rotate?if_older_than_seconds=3600", headers=admin)
    assert skipped.status_code == 201
    assert skipped.json() == {"rotated": False, "key": None}
    assert len(keys_by_kid(client, admin)) == 1
    done = client.post("/admin/keys/rotate?if_older_than_seconds=0", headers=admin)
    assert done.json()["rotated"] is True
    revoked = client.post(f"/admin/keys/{done.json()['key']['kid']}/revoke", headers=admin)
    assert revoked.status_code == 200
    trail = client.get("/audit", headers=admin).json()["items"]
    recorded = [(e["event_type"], e["detail"]) for e in trail if e["event_type"].startswith("key")]
    kid = done.json()["key"]["kid"]
    assert recorded == [("key_rotate", kid), ("key_revoke", kid)]
    assert {e["actor_id"] for e in trail if e["event_type"].startswith("key")} != {None}
    assert_error(client.post("/admin/keys/nosuchkid/revoke", headers=admin), 404, "KEY_NOT_FOUND")
    register(client, "alice")
    user = bearer(login(client, "alice"))
    assert_error(client.get("/admin/keys", headers=user), 403, "FORBIDDEN")
    assert_error(client.post("/admin/keys/rotate", headers=user), 403, "FORBIDDEN")
    assert_error(client.post("/admin/keys/rotate"), 401, "NOT_AUTHENTICATED")
    bad = client.post("/admin/keys/rotate?if_older_than_seconds=-1", headers=admin)
    assert_error(bad, 422, "VALIDATION_ERROR")


@pytest.mark.backends("sqlite")
def test_hmac_keys_are_not_rotated_here(database_url: str, clock: FakeClock) -> None:
    app = create_app(make_settings(database_url), clock=clock)
    with TestClient(app) as client:
        admin = bearer(_admin_token(app, client))
        assert jwks_of(client) == []
        for method, path in (
            ("GET", "/admin/keys"),
            ("POST", "/admin/keys/rotate"),
            ("POST", "/admin/keys/abc/revoke"),
        ):
            assert_error(client.request(method, path, headers=admin), 409, "KEYS_NOT_MANAGED")


def _admin_token(app: FastAPI, client: TestClient) -> str:
    create_admin(app, "root")
    return login(client, "root")
