"""The bench's bare sign-in app does the sign-in it stands for: the service's verification of the
bench password and a token the service's TokenService accepts (bench/bare_sign_in_app.py)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from types import ModuleType

import httpx
import pytest

from A_DatabasePackage.settings import get_settings
from tests.support import FAST_ARGON2, TEST_SECRET_KEY


@pytest.fixture
def bare_sign_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    for name, value in FAST_ARGON2.items():
        monkeypatch.setenv(name, str(value))
    get_settings.cache_clear()
    sys.modules.pop("bench.bare_sign_in_app", None)
    module = importlib.import_module("bench.bare_sign_in_app")
    yield module
    module.hasher.close()
    sys.modules.pop("bench.bare_sign_in_app", None)
    get_settings.cache_clear()


@pytest.mark.anyio
async def test_the_bare_app_verifies_and_issues_a_token(bare_sign_in: ModuleType) -> None:
    assert bare_sign_in.hasher.memory_kib == FAST_ARGON2["ARGON2_MEMORY_KIB"]
    transport = httpx.ASGITransport(app=bare_sign_in.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        signed_in = await client.post(
            "/login", json={"username": "bench", "password": bare_sign_in.PASSWORD}
        )
        wrong = await client.post("/login", json={"username": "bench", "password": "x" * 12})
        malformed = await client.post("/login", json={"username": "bench"})
    assert signed_in.status_code == 200
    claims = bare_sign_in.tokens.verify_access_token(signed_in.json()["access_token"])
    assert claims.user_id == bare_sign_in.BENCH_USER_ID
    assert wrong.status_code == 401
    assert "access_token" not in wrong.json()
    assert malformed.status_code == 422
