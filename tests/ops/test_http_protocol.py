"""TCP_NODELAY on connections accepted from a socket uvicorn bound itself (`--workers N`), and
the HTTP parser and event loop the service's process managers run."""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.client import HTTPConnection

import pytest
import uvicorn

from deploy.process_setup import UVICORN_OPTIONS
from I_ControllerPackage.http_protocol import NoDelayHttpToolsProtocol
from tests.live_server import free_port

NO_DELAY_PROTOCOLS = (
    "I_ControllerPackage.http_protocol:NoDelayHttpToolsProtocol",
    "I_ControllerPackage.http_protocol:NoDelayH11Protocol",
)
LoopFactory = Callable[[], asyncio.AbstractEventLoop]


async def _hello(scope: dict[str, object], receive: object, send: object) -> None:
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]


@contextmanager
def bound_socket_server(http: str, loop_factory: LoopFactory) -> Iterator[uvicorn.Server]:
    """uvicorn serving on a socket from Config.bind_socket(), as its worker supervisor does."""
    config = uvicorn.Config(_hello, host="127.0.0.1", port=free_port(), http=http, lifespan="off")
    config.load()
    sock = config.bind_socket()
    server = uvicorn.Server(config)

    def serve() -> None:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(server.serve(sockets=[sock]))

    thread = threading.Thread(target=serve)
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


def accepted_socket_nodelay(http: str, loop_factory: LoopFactory = asyncio.new_event_loop) -> int:
    with bound_socket_server(http, loop_factory) as server:
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


@pytest.mark.parametrize("http", NO_DELAY_PROTOCOLS)
def test_accepted_connections_have_tcp_nodelay(http: str) -> None:
    assert accepted_socket_nodelay(http) != 0


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not installed on Windows")
def test_accepted_connections_have_tcp_nodelay_on_uvloop() -> None:
    import uvloop

    assert accepted_socket_nodelay(NO_DELAY_PROTOCOLS[0], uvloop.new_event_loop) != 0


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_plain_uvicorn_protocols_leave_nagle_on(http: str) -> None:
    """The upstream bug (uvicorn #3149) these protocols work around; when this fails, uvicorn
    has fixed it and the `--http` option can go."""
    assert accepted_socket_nodelay(http) == 0


def test_process_managers_run_httptools_on_uvloop() -> None:
    """deploy.serve and the gunicorn worker class pass these options to uvicorn."""
    config = uvicorn.Config(_hello, lifespan="off", **UVICORN_OPTIONS)
    config.load()
    assert config.http_protocol_class is NoDelayHttpToolsProtocol
    loop_factory = config.get_loop_factory()
    assert loop_factory is not None
    loop = loop_factory()
    try:
        expected = "asyncio" if sys.platform == "win32" else "uvloop"
        assert type(loop).__module__.split(".")[0] == expected
    finally:
        loop.close()
