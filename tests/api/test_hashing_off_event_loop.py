"""Argon2 work must never run on the event loop thread (it would stall every other request)."""

from __future__ import annotations

import dataclasses
import threading

from fastapi.testclient import TestClient

from A_DatabasePackage.settings import Settings
from E_SecurityPackage.password_hashing import PasswordHasher
from I_ControllerPackage.app_factory import create_app
from tests.support import STRONG_PASSWORD, bearer, login, register


class ThreadRecordingHasher(PasswordHasher):
    """A real hasher that notes which thread each computation ran on."""

    def __init__(self, memory_kib: int, time_cost: int, parallelism: int) -> None:
        self.threads: list[int] = []
        super().__init__(memory_kib, time_cost, parallelism)

    def hash(self, password: str) -> str:
        self.threads.append(threading.get_ident())
        return super().hash(password)

    def verify(self, password: str, stored_hash: str) -> tuple[bool, str | None]:
        self.threads.append(threading.get_ident())
        return super().verify(password, stored_hash)

    def verify_unknown_user(self, password: str) -> None:
        self.threads.append(threading.get_ident())
        super().verify_unknown_user(password)


def test_every_hash_runs_off_the_event_loop(settings: Settings) -> None:
    app = create_app(settings)
    hasher = ThreadRecordingHasher(
        settings.ARGON2_MEMORY_KIB, settings.ARGON2_TIME_COST, settings.ARGON2_PARALLELISM
    )
    app.state.security = dataclasses.replace(app.state.security, hasher=hasher)

    @app.get("/loop-thread")
    async def loop_thread() -> int:
        return threading.get_ident()

    with TestClient(app) as client:
        loop_ident = client.get("/loop-thread").json()
        hasher.threads.clear()
        register(client, "alice")
        token = login(client, "alice")
        client.post("/login", json={"username": "nobody", "password": STRONG_PASSWORD})
        client.post("/users/code", json={"username": "alice", "password": "wrong password!!"})
        client.put(
            "/update",
            headers=bearer(token),
            json={"new_password": "a brand new passphrase", "current_password": STRONG_PASSWORD},
        )
    assert len(hasher.threads) >= 6
    assert loop_ident not in hasher.threads
