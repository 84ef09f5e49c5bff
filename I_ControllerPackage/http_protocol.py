"""uvicorn's HTTP/1.1 protocols with TCP_NODELAY on every accepted connection.

With `--workers N` (and under gunicorn) uvicorn binds the listening socket itself with
`proto=0`; accepted sockets inherit that, and asyncio only disables Nagle's algorithm when a
socket says IPPROTO_TCP. Every keep-alive response then sends its body ~40 ms after its
headers (Nagle waiting for the client's delayed ACK): /healthz took 44 ms instead of 0.5 ms.
Known upstream as uvicorn issue #3149. uvloop turns Nagle off on its own; these classes make
it so on the asyncio loop too.

The service runs `NoDelayHttpToolsProtocol` (the httptools parser, which costs the event loop
less per request than h11: README "Performance"); `NoDelayH11Protocol` is the same on uvicorn's
pure-Python parser. Select one with `--http I_ControllerPackage.http_protocol:<class>`
(README "Run in production").
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def enable_tcp_nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _TcpNoDelay(asyncio.Protocol):
    """Put before a uvicorn protocol class in the bases: TCP_NODELAY, then its own set-up."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        enable_tcp_nodelay(transport)
        super().connection_made(transport)


class NoDelayHttpToolsProtocol(_TcpNoDelay, HttpToolsProtocol):
    pass


class NoDelayH11Protocol(_TcpNoDelay, H11Protocol):
    pass
