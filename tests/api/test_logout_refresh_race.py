"""Ending a session races a refresh of the same session (POST /logout, DELETE /sessions/{id}):
whichever commits first, no token of that session works afterwards, the refreshed pair
included. Two threads released together, many rounds, on each database."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.session_support import sign_in
from tests.support import bearer, register

pytestmark = pytest.mark.backends("sqlite", "postgresql")

ROUNDS = 12
Ender = Callable[[TestClient, dict[str, Any]], httpx.Response]


def logout(client: TestClient, pair: dict[str, Any]) -> httpx.Response:
    response: httpx.Response = client.post(
        "/logout",
        json={"refresh_token": pair["refresh_token"]},
        headers=bearer(pair["access_token"]),
    )
    return response


def delete_session(client: TestClient, pair: dict[str, Any]) -> httpx.Response:
    """From another session of the same account, which the caller signed in before."""
    other = pair["other"]
    session_id = next(
        item["id"]
        for item in client.get("/sessions", headers=bearer(other["access_token"])).json()
        if not item["current"]
    )
    response: httpx.Response = client.delete(
        f"/sessions/{session_id}", headers=bearer(other["access_token"])
    )
    return response


def refresh_with(client: TestClient, pair: dict[str, Any]) -> httpx.Response:
    response: httpx.Response = client.post(
        "/token/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    return response


def together(
    barrier: threading.Barrier, call: Callable[[], httpx.Response]
) -> Callable[[], httpx.Response]:
    """`call`, once both racers reach the barrier."""

    def run() -> httpx.Response:
        barrier.wait(timeout=10)
        return call()

    return run


@pytest.mark.parametrize("end", [logout, delete_session], ids=["logout", "delete-session"])
def test_no_token_of_an_ended_session_survives_a_racing_refresh(app: FastAPI, end: Ender) -> None:
    with TestClient(app) as client:
        register(client)
        other = sign_in(client)
        survivors = []
        for _ in range(ROUNDS):
            pair = {**sign_in(client), "other": other}
            barrier = threading.Barrier(2)
            refresh = together(barrier, partial(refresh_with, client, pair))
            ending = together(barrier, partial(end, client, pair))
            with ThreadPoolExecutor(max_workers=2) as pool:
                refreshed_future = pool.submit(refresh)
                ended_future = pool.submit(ending)
                refreshed, ended = refreshed_future.result(30), ended_future.result(30)
            assert ended.status_code == 204, ended.text
            if refreshed.status_code == 200:
                new = refreshed.json()
                me = client.get("/users/me", headers=bearer(new["access_token"]))
                again = client.post("/token/refresh", json={"refresh_token": new["refresh_token"]})
                if me.status_code != 401 or again.status_code != 401:
                    survivors.append((me.status_code, again.status_code))
            else:
                assert refreshed.status_code == 401, refreshed.text
            assert client.get("/users/me", headers=bearer(pair["access_token"])).status_code == 401
        assert survivors == []
