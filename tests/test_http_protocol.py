"""TCP_NODELAY on connections accepted from a socket uvicorn bound itself (`--workers N`)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.client import HTTPConnection

import uvicorn

from tests.live_server import free_port

NO_DELAY = "I_ControllerPackage.http_protocol:NoDelayH11Protocol"


async def _hello(scope: dict[str, object], receive: object, send: object) -> None:
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]


@contextmanager
def bound_socket_server(http: str) -> Iterator[uvicorn.Server]:
    """uvicorn serving on a socket from Config.bind_socket(), as its worker supervisor does."""
    config = uvicorn.Config(_hello, host="127.0.0.1", port=free_port(), http=http, lifespan="off")
    config.load()
    sock = config.bind_socket()
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def accepted_socket_nodelay(http: str) -> int:
    with bound_socket_server(http) as server:
        connection = HTTPConnection("127.0.0.1", server.config.port, timeout=10)
        connection.request("GET", "/")
        assert connection.getresponse().read() == b"ok"
        (protocol,) = server.server_state.connections
        transport = protocol.transport
        value = transport.get_extra_info("socket").getsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY
        )
        connection.close()
        return int(value)


def test_accepted_connections_have_tcp_nodelay() -> None:
    assert accepted_socket_nodelay(NO_DELAY) != 0


def test_plain_uvicorn_protocol_leaves_nagle_on() -> None:
    """The upstream bug (uvicorn #3149) this protocol works around; when this fails, uvicorn
    has fixed it and the `--http` option can go."""
    assert accepted_socket_nodelay("h11") == 0
