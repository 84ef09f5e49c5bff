"""The header block is bounded (MAX_HEADER_BYTES, 16 KiB): past it a request gets 431 as soon as
the limit is passed, nothing more of it is kept, and a flood of such requests leaves /healthz
answering. Against the server as the README starts it, and under gunicorn."""

from __future__ import annotations

import json
import select
import shlex
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from http.client import HTTPConnection
from pathlib import Path

import httpx
import pytest

from tests.gunicorn_server import gunicorn_server
from tests.live_server import LiveServer, live_server, settings_env
from tests.ops.test_ops_readme import set_up_commands

LIMIT = 16 * 1024
STREAM_CHUNK = 4 * 1024
STREAMED_AT_MOST = 1024 * 1024


def readme_uvicorn_flags() -> list[str]:
    """The flags of the README's start command, as a newcomer runs it."""
    start = set_up_commands()[0].split(" && ")[-1]
    _uvicorn, _app, *flags = shlex.split(start)
    return flags


@pytest.fixture(scope="module", params=["readme-uvicorn", "gunicorn"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp(request.param)
    env = settings_env(f"sqlite:///{folder / 'auth.db'}")
    with ExitStack() as stack:
        if request.param == "gunicorn":
            yield stack.enter_context(gunicorn_server(env, folder / "logs"))
        else:
            flags = readme_uvicorn_flags()
            yield stack.enter_context(live_server(env, folder, folder / "logs", flags=flags))


def request_with_header_block(size: int) -> bytes:
    """A GET /healthz whose request line and headers are exactly `size` bytes on the wire."""
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: "
    tail = b"\r\n\r\n"
    return head + b"a" * (size - len(head) - len(tail)) + tail


def exchange(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send `data` on a new connection and read until the server closes it or goes quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            received += chunk
            if b"\r\n\r\n" in received and b'"status"' in received:
                break
        return received


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def body_of(response: bytes) -> dict[str, str]:
    parsed: dict[str, str] = json.loads(response.split(b"\r\n\r\n", 1)[1])
    return parsed


def test_a_header_block_under_the_limit_is_served(server: LiveServer) -> None:
    response = exchange(server.port, request_with_header_block(LIMIT - 512))
    assert status_of(response) == 200, response[:200]


def test_a_header_block_over_the_limit_is_refused_with_431_and_the_error_body(
    server: LiveServer,
) -> None:
    response = exchange(server.port, request_with_header_block(LIMIT + 512))
    assert status_of(response) == 431, response[:200]
    head = response.split(b"\r\n\r\n", 1)[0].lower()
    assert b"connection: close" in head
    assert b"content-type: application/json" in head
    body = body_of(response)
    assert body["code"] == "REQUEST_HEADER_FIELDS_TOO_LARGE"
    assert str(LIMIT) in body["detail"]


def test_a_header_that_never_ends_is_refused_once_the_limit_passes(server: LiveServer) -> None:
    """Streamed 4 KiB at a time: the 431 arrives long before a megabyte has been sent (an
    unbounded parser would keep reading, and answer nothing until the header ended)."""
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10.0) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: ")
        while sent < STREAMED_AT_MOST and not answer:
            try:
                sock.sendall(b"a" * STREAM_CHUNK)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += STREAM_CHUNK
            readable, _, _ = select.select([sock], [], [], 0.01)
            if readable:
                answer = sock.recv(65536)
        if not answer:
            answer = sock.recv(65536)
    assert status_of(answer) == 431, answer[:200]
    assert sent < STREAMED_AT_MOST // 4, sent


def test_each_request_on_a_kept_alive_connection_has_its_own_limit(server: LiveServer) -> None:
    connection = HTTPConnection("127.0.0.1", server.port, timeout=10.0)
    try:
        for _ in range(3):
            connection.request("GET", "/healthz", headers={"X-Filler": "a" * (LIMIT // 2)})
            response = connection.getresponse()
            response.read()
            assert response.status == 200
    finally:
        connection.close()


def test_a_body_arriving_with_its_headers_does_not_count_against_the_header_limit(
    server: LiveServer,
) -> None:
    body = json.dumps({"username": "nobody", "password": "x" * (LIMIT - 1024)}).encode()
    head = (
        b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n"
        b"X-Filler: " + b"a" * 4096 + b"\r\n\r\n"
    )
    response = exchange(server.port, head + body)
    assert status_of(response) == 422, response[:300]


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")  # pragma: no cover


def flood_with_endless_headers(port: int, connections: int, stop: threading.Event) -> int:
    """Open connections that each try to send a megabyte of one header; count the refusals."""
    refused = 0
    while not stop.is_set():
        sockets = [
            socket.create_connection(("127.0.0.1", port), timeout=10.0) for _ in range(connections)
        ]
        for sock in sockets:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        for _ in range(STREAMED_AT_MOST // (64 * 1024)):
            for sock in sockets:
                with suppress(OSError):
                    sock.sendall(b"a" * (64 * 1024))
        for sock in sockets:
            try:
                if status_of(sock.recv(65536)) == 431:
                    refused += 1
            except (OSError, IndexError, ValueError):
                pass
            sock.close()
    return refused


def test_a_flood_of_endless_headers_keeps_memory_flat_and_healthz_answering(
    tmp_path: Path,
) -> None:
    """Against the README's start: 32 connections at a time each pushing a megabyte of header.
    Unbounded, the one process would hold 32 MiB of partial headers per round."""
    env = settings_env(f"sqlite:///{tmp_path / 'auth.db'}")
    with live_server(env, tmp_path, tmp_path / "logs", flags=readme_uvicorn_flags()) as server:
        before = resident_kib(server.process.pid)
        stop = threading.Event()
        refusals: list[int] = []
        flood = threading.Thread(
            target=lambda: refusals.append(flood_with_endless_headers(server.port, 32, stop))
        )
        flood.start()
        latencies: list[float] = []
        peak = before
        try:
            with httpx.Client(base_url=server.base_url, timeout=5.0) as client:
                deadline = time.monotonic() + 4.0
                while time.monotonic() < deadline:
                    started = time.monotonic()
                    assert client.get("/healthz").status_code == 200
                    latencies.append(time.monotonic() - started)
                    peak = max(peak, resident_kib(server.process.pid))
                    time.sleep(0.05)
        finally:
            stop.set()
            flood.join(timeout=60)
        assert refusals, "the flood thread did not finish"
        assert refusals[0] >= 32, refusals
        assert max(latencies) < 1.0, max(latencies)
        assert peak - before < 16 * 1024, (before, peak)
