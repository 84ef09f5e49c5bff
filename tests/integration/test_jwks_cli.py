"""`python -m scripts.manage keys list|rotate|revoke` and `introspection-client`, run as
subprocesses against the database a running app uses."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from jose import jwt

from A_DatabasePackage.settings import Settings
from I_ControllerPackage.app_factory import create_app
from tests.admin_support import assert_error
from tests.jwks_support import ENCRYPTION_KEY, asymmetric_settings
from tests.support import TEST_SECRET_KEY, FakeClock, bearer, login, make_settings, register

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SETTING_KEYS = (*Settings.model_fields, "DATABASE_URL", "AUTO_MIGRATE")

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def manage(database_url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key not in SETTING_KEYS}
    environment.update(
        DATABASE_URL=database_url,
        SECRET_KEY=TEST_SECRET_KEY,
        APP_ENV="test",
        JWT_ALGORITHM="ES256",
        SIGNING_KEY_ENCRYPTION_KEY=ENCRYPTION_KEY,
    )
    return subprocess.run(
        [sys.executable, "-m", "scripts.manage", *arguments],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def lines(result: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_keys_rotate_list_and_revoke_from_the_command_line(database_url: str) -> None:
    settings = asymmetric_settings(database_url, "ES256", SIGNING_KEY_CACHE_SECONDS=1)
    with TestClient(create_app(settings, clock=FakeClock())) as client:
        register(client, "alice")
        token = login(client, "alice")
        first = jwt.get_unverified_header(token)["kid"]
        (listed,) = lines(manage(database_url, "keys", "list"))
        assert (listed["kid"], listed["state"]) == (first, "active")

        skipped = lines(manage(database_url, "keys", "rotate", "--if-older-than", "30d"))
        assert skipped == [{"rotated": False, "key": None}]
        (rotated,) = lines(manage(database_url, "keys", "rotate", "--if-older-than", "0"))
        assert rotated["rotated"] is True
        assert isinstance(rotated["key"], dict)
        assert rotated["key"]["state"] == "standby"
        states = {key["kid"]: key["state"] for key in lines(manage(database_url, "keys", "list"))}
        assert states == {first: "active", rotated["key"]["kid"]: "standby"}

        (revoked,) = lines(manage(database_url, "keys", "revoke", first))
        assert revoked["state"] == "revoked"
        time.sleep(1.1)  # the app's key cache (SIGNING_KEY_CACHE_SECONDS=1)
        assert_error(client.get("/users/me", headers=bearer(token)), 401, "INVALID_TOKEN")
        fresh = login(client, "alice")
        assert jwt.get_unverified_header(fresh)["kid"] not in (first, rotated["key"]["kid"])
        assert client.get("/users/me", headers=bearer(fresh)).status_code == 200

    missing = manage(database_url, "keys", "revoke", "no-such-kid")
    assert missing.returncode == 1
    assert "KEY_NOT_FOUND" in missing.stderr
    bad_age = manage(database_url, "keys", "rotate", "--if-older-than", "soon")
    assert bad_age.returncode == 2


@pytest.mark.backends("sqlite")
def test_introspection_client_prints_a_secret_and_its_settings_entry(database_url: str) -> None:
    result = manage(database_url, "introspection-client", "gateway")
    made = json.loads(result.stdout)
    entry = result.stderr.strip().rsplit(" ", 1)[-1]
    assert entry == f"gateway:{hashlib.sha256(made['client_secret'].encode()).hexdigest()}"
    assert len(made["client_secret"]) >= 43
    configured = make_settings(database_url, INTROSPECTION_CLIENTS=entry)
    assert configured.introspection_clients["gateway"] == entry.split(":", 1)[1]
