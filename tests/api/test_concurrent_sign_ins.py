"""Many sign-ins of one account at once all succeed: the re-read of the account that guards
a sign-in against a concurrent password change (a row lock on PostgreSQL) must not deadlock
with the other sign-ins' session rows, which reference the same account."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support import STRONG_PASSWORD, register

pytestmark = pytest.mark.backends("sqlite", "postgresql")

THREADS = 8
SIGN_INS_PER_THREAD = 8


def test_concurrent_sign_ins_of_one_account_all_succeed(app: FastAPI) -> None:
    with TestClient(app) as client:
        register(client)
        barrier = threading.Barrier(THREADS)

        def sign_ins() -> list[int]:
            barrier.wait(timeout=10)
            body = {"username": "alice", "password": STRONG_PASSWORD}
            return [
                client.post("/login", json=body).status_code for _ in range(SIGN_INS_PER_THREAD)
            ]

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            statuses = [
                status
                for future in [pool.submit(sign_ins) for _ in range(THREADS)]
                for status in future.result(timeout=120)
            ]
    assert statuses == [200] * THREADS * SIGN_INS_PER_THREAD
