"""uvicorn's httptools protocol with a bound on the request line plus headers.

httptools (llhttp) sets no limit of its own: a client could send megabytes of header bytes and
the parser would keep them until the blank line came. This protocol counts the bytes of the
header block as they arrive and, once `MAX_HEADER_BYTES` is passed, answers 431 with the
service's error body and closes the connection; nothing more of that request is read or kept.

The gunicorn worker (deploy/worker.py) uses it, and every documented uvicorn command line names
it with `--http deploy.http_protocol:HeaderBoundedProtocol`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from A_DatabasePackage.settings import get_settings
from D_CustomExceptionPackage.login_custom_exception_handling import error_body_bytes

HEADER_BLOCK_TOO_LARGE = "REQUEST_HEADER_FIELDS_TOO_LARGE"
# What llhttp does not pass to the callbacks: the method, " HTTP/1.1\r\n", ": " and "\r\n" of
# each header, and the blank line. Counted so the limit means the bytes on the wire.
REQUEST_LINE_OVERHEAD = 32
HEADER_LINE_OVERHEAD = 4


class HeaderBlockTooLargeError(Exception):
    """Raised from a parser callback to stop parsing the rest of the data at once."""


def refusal_response(limit: int) -> bytes:
    """The complete 431 response: the service's error body, then the connection closes."""
    body = error_body_bytes(
        f"The request line and headers are larger than {limit} bytes.", HEADER_BLOCK_TOO_LARGE
    )
    head = (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
        b"content-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode("ascii") + b"\r\n"
        b"connection: close\r\n\r\n"
    )
    return head + body


class HeaderBoundedProtocol(HttpToolsProtocol):
    """Refuses a header block past `MAX_HEADER_BYTES` with 431, without buffering the rest.

    While a request's headers are incomplete, every received byte counts against the limit
    (llhttp keeps a partial header until its line ends, so the callbacks alone would see a
    megabyte header only once it had all arrived). When the headers complete, their exact size
    is checked again, so a whole oversized block arriving in one read is refused too.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.max_header_bytes = get_settings().MAX_HEADER_BYTES
        self.reading_headers = True
        self.header_bytes_received = 0
        self.header_block_size = 0

    def data_received(self, data: bytes) -> None:
        if self.reading_headers:
            self.header_bytes_received += len(data)
        try:
            super().data_received(data)
        finally:
            still_reading = self.reading_headers and not self.transport.is_closing()
            if still_reading and self.header_bytes_received > self.max_header_bytes:
                self.refuse()

    def send_400_response(self, msg: str) -> None:
        """A callback's HeaderBlockTooLargeError reaches uvicorn as a parser error: answer 431."""
        if self.header_block_size > self.max_header_bytes:
            self.refuse()
        else:
            super().send_400_response(msg)

    def refuse(self) -> None:
        self.transport.write(refusal_response(self.max_header_bytes))
        self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.header_block_size = REQUEST_LINE_OVERHEAD

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self.count_header_bytes(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self.count_header_bytes(len(name) + len(value) + HEADER_LINE_OVERHEAD)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.reading_headers = False
        self.header_bytes_received = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.reading_headers = True

    def count_header_bytes(self, size: int) -> None:
        self.header_block_size += size
        if self.header_block_size > self.max_header_bytes:
            raise HeaderBlockTooLargeError
