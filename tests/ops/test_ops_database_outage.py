"""A PostgreSQL outage under traffic: requests answer 503 SERVICE_UNAVAILABLE quickly (never a
500, a traceback or a hang), /healthz stays 200 and /readyz names the database, and once the
database is back the same server process serves again by itself.

The database is a private cluster (tests/private_postgres.py: initdb in a temporary folder, its
own port) that the test stops with `pg_ctl stop -m fast` and starts again; the service is a
real uvicorn process (tests/live_server.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.live_server import PROJECT_ROOT, LiveServer, live_server, settings_env
from tests.private_postgres import PrivatePostgres
from tests.support import STRONG_PASSWORD

TRAFFIC_THREADS = 4
SLOWEST_ANSWER_SECONDS = 6.0  # connect_timeout is 5 s; a refused connection answers at once
RECOVERY_SECONDS = 30.0
LEAKS = ("Traceback", "psycopg2", "OperationalError", "SELECT", ".py", "127.0.0.1", "5432")


@dataclass(frozen=True)
class Answer:
    path: str
    started: float
    finished: float
    status: int
    body: str


@dataclass
class Traffic:
    """Threads that keep signing in and reading the account until told to stop."""

    server: LiveServer
    access_token: str
    answers: list[Answer] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _loop(self, number: int) -> None:
        requests = [
            ("GET", "/users/me", None),
            ("POST", "/login", {"username": "alice", "password": STRONG_PASSWORD}),
            ("GET", "/sessions", None),
        ]
        headers = {"Authorization": f"Bearer {self.access_token}"}
        with self.server.client(timeout=30.0) as client:
            step = number
            while not self.stop.is_set():
                method, path, body = requests[step % len(requests)]
                step += 1
                started = time.monotonic()
                response = client.request(method, path, json=body, headers=headers)
                answer = Answer(
                    path, started, time.monotonic(), response.status_code, response.text
                )
                with self.lock:
                    self.answers.append(answer)
                time.sleep(0.01)

    @contextmanager
    def running(self) -> Iterator[None]:
        threads = [
            threading.Thread(target=self._loop, args=(number,), daemon=True)
            for number in range(TRAFFIC_THREADS)
        ]
        for thread in threads:
            thread.start()
        try:
            yield
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(timeout=60)

    def between(self, start: float, end: float) -> list[Answer]:
        with self.lock:
            return [a for a in self.answers if a.started >= start and a.finished <= end]

    def wait_for(self, count: int, since: float, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.between(since, float("inf"))) < count:
            assert time.monotonic() < deadline, "the traffic threads stopped answering"
            time.sleep(0.05)


def sign_up_and_in(client: httpx.Client) -> str:
    response = client.post(
        "/register",
        json={"username": "alice", "email": "alice@example.com", "password": STRONG_PASSWORD},
    )
    assert response.status_code == 201, response.text
    response = client.post("/login", json={"username": "alice", "password": STRONG_PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def assert_unavailable_body(answer: Answer) -> None:
    assert answer.body.startswith("{"), answer
    for leak in LEAKS:
        assert leak not in answer.body, answer


def wait_until_ready(client: httpx.Client) -> float:
    deadline = time.monotonic() + RECOVERY_SECONDS
    while time.monotonic() < deadline:
        if client.get("/readyz").status_code == 200:
            return time.monotonic()
        time.sleep(0.1)
    raise AssertionError("/readyz did not come back after the database did")


def test_outage_under_traffic_answers_503_and_recovers_by_itself(
    private_cluster: PrivatePostgres, tmp_path: Path
) -> None:
    url = private_cluster.fresh_database("auth_outage")
    env = settings_env(url)
    with live_server(env, PROJECT_ROOT, tmp_path, args=("--no-access-log",)) as server:
        client = server.client(timeout=30.0)
        traffic = Traffic(server, sign_up_and_in(client))
        with traffic.running():
            began = time.monotonic()
            traffic.wait_for(40, since=began)

            stopping = time.monotonic()
            private_cluster.stop("fast")
            down = time.monotonic()
            traffic.wait_for(40, since=down)
            assert client.get("/healthz").json() == {"status": "ok"}
            readiness = client.get("/readyz")
            assert readiness.status_code == 503, readiness.text
            assert readiness.json() == {
                "detail": "Not ready: database unavailable.",
                "code": "SERVICE_UNAVAILABLE",
                "status": "unavailable",
                "checks": {"database": "unavailable"},
            }

            restarting = time.monotonic()
            private_cluster.start()
            ready = wait_until_ready(client)
            traffic.wait_for(40, since=ready)
            ended = time.monotonic()
        output = server.output()

    before = traffic.between(began, stopping)
    during = traffic.between(down, restarting)
    after = traffic.between(ready, ended)
    everything = traffic.between(began, float("inf"))
    assert before
    assert during
    assert after
    assert {a.status for a in before} == {200}, before
    assert {a.status for a in during} == {503}, [a for a in during if a.status != 503]
    for answer in during:
        assert answer.body == (
            '{"detail":"The service is temporarily unavailable; try again shortly.",'
            '"code":"SERVICE_UNAVAILABLE"}'
        )
    assert {a.path for a in during} == {"/users/me", "/login", "/sessions"}
    assert {a.status for a in after} == {200}, [a for a in after if a.status != 200]
    # In flight when the database went away or came back: an answer either way, never a 500.
    assert {a.status for a in everything} <= {200, 503}
    for answer in everything:
        if answer.status == 503:
            assert_unavailable_body(answer)
    slowest = max(a.finished - a.started for a in everything)
    assert slowest < SLOWEST_ANSWER_SECONDS, slowest
    assert "Traceback" not in output
    assert '"status": 500' not in output


def test_a_restart_while_idle_is_invisible_to_the_next_requests(
    private_cluster: PrivatePostgres, tmp_path: Path
) -> None:
    """Pooled connections that died with the server are checked before use and replaced."""
    url = private_cluster.fresh_database("auth_idle_restart")
    with live_server(
        settings_env(url), PROJECT_ROOT, tmp_path, args=("--no-access-log",)
    ) as server:
        client = server.client(timeout=30.0)
        token = sign_up_and_in(client)
        traffic = Traffic(server, token)
        with traffic.running():  # several pooled connections in use
            traffic.wait_for(40, since=0.0)
        private_cluster.stop("fast")
        private_cluster.start()
        headers = {"Authorization": f"Bearer {token}"}
        statuses = [client.get("/users/me", headers=headers).status_code for _ in range(20)]
        assert statuses == [200] * 20
        assert client.get("/readyz").status_code == 200
        assert "Traceback" not in server.output()
