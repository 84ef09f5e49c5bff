"""The example resource server (scripts/example_resource_server.py), run as its own process,
verifies a live auth service's tokens from the JWKS through a whole key rotation and a
revocation. The auth service runs under gunicorn with two workers, so a rotation asked of one
worker must reach the other through the database.

Times are shortened: JWKS_MAX_AGE_SECONDS=2 and SIGNING_KEY_CACHE_SECONDS=1, so a new key
signs 3 s after it is published (600 s + 30 s by default).
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from jose import jwt

from tests.admin_support import ADMIN_PASSWORD
from tests.gunicorn_server import gunicorn_server
from tests.jwks_support import ENCRYPTION_KEY, foreign_es256_token, random_kid
from tests.live_server import PROJECT_ROOT, live_server, server_env, settings_env
from tests.support import STRONG_PASSWORD

ROTATION_SECONDS = 9.0


def sign_in(auth: httpx.Client, username: str, password: str) -> str:
    response = auth.post("/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def kid_of(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


def hello(resource: httpx.Client, token: str) -> int:
    status: int = resource.get("/hello", headers={"Authorization": f"Bearer {token}"}).status_code
    return status


def test_the_example_resource_server_verifies_through_a_rotation(
    database_url: str, backend_redis_url: str | None, tmp_path: Path
) -> None:
    auth_env = settings_env(
        database_url,
        JWT_ALGORITHM="ES256",
        SIGNING_KEY_ENCRYPTION_KEY=ENCRYPTION_KEY,
        JWKS_MAX_AGE_SECONDS="2",
        SIGNING_KEY_CACHE_SECONDS="1",
        BOOTSTRAP_ADMIN_USERNAME="root",
        BOOTSTRAP_ADMIN_EMAIL="root@example.com",
        BOOTSTRAP_ADMIN_PASSWORD=ADMIN_PASSWORD,
        **({"REDIS_URL": backend_redis_url} if backend_redis_url else {}),
    )
    with gunicorn_server(auth_env, tmp_path / "auth", workers=2) as auth_server:
        resource_env = server_env(
            AUTH_BASE_URL=auth_server.base_url, JWKS_MIN_REFRESH_SECONDS="0.5"
        )
        with (
            live_server(
                resource_env,
                PROJECT_ROOT,
                tmp_path / "resource",
                app="scripts.example_resource_server:app",
            ) as resource_server,
            auth_server.client() as auth,
            resource_server.client() as resource,
        ):
            registered = auth.post(
                "/register",
                json={"username": "alice", "email": "a@example.com", "password": STRONG_PASSWORD},
            )
            assert registered.status_code == 201, registered.text
            first_token = sign_in(auth, "alice", STRONG_PASSWORD)
            first = kid_of(first_token)
            assert hello(resource, first_token) == 200

            admin = {"Authorization": f"Bearer {sign_in(auth, 'root', ADMIN_PASSWORD)}"}
            rotated = auth.post("/admin/keys/rotate", headers=admin)
            assert rotated.status_code == 201, rotated.text
            second = rotated.json()["key"]["kid"]

            tokens = [first_token]
            deadline = time.monotonic() + ROTATION_SECONDS
            while time.monotonic() < deadline:
                tokens.append(sign_in(auth, "alice", STRONG_PASSWORD))
                for token in [*tokens[-5:], first_token]:
                    assert hello(resource, token) == 200, kid_of(token)
                time.sleep(0.2)
            kids = [kid_of(token) for token in tokens]
            assert kids[0] == first
            assert kids[-1] == second
            assert kids.index(second) > 1  # the old key went on signing for a while

            for forged in (foreign_es256_token({"sub": "1"}, random_kid()), "not-a-token"):
                assert hello(resource, forged) == 401

            revoked = auth.post(f"/admin/keys/{first}/revoke", headers=admin)
            assert revoked.status_code == 200, revoked.text
            time.sleep(2.5)  # the resource server's JWKS copy expires (max-age=2)
            assert hello(resource, first_token) == 401
            assert hello(resource, tokens[-1]) == 200
