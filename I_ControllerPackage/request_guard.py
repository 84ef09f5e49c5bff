"""An ASGI middleware that refuses unusable requests before routing or parsing.

- a body over MAX_BODY_BYTES answers 413, whatever Content-Length claims (the body is read
  and counted, so a chunked or lying request is caught too);
- a body that is not JSON (nor, on the form paths, a URL-encoded or multipart form) answers 415;
- a JSON body that is not UTF-8 (RFC 8259 8.1) or that the parser refuses for its shape
  (`json_body_problem`), or a query string holding U+0000, answers 422.
The checked body is handed on to the application unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from D_CustomExceptionPackage.login_custom_exception_handling import error_body_bytes

MAX_BODY_BYTES = 16 * 1024
TOO_LARGE = "The request body is larger than 16 KiB."
FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def media_type(content_type: str) -> str:
    """`application/json` of `Application/JSON; charset=utf-8`: the type, lower case."""
    return content_type.split(";", 1)[0].strip().lower()


def _is_json(content_type: str) -> bool:
    media = media_type(content_type)
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


NOT_UTF8 = "JSON must be UTF-8"
BEYOND_THE_PARSER = "JSON nested too deeply, or a number with too many digits"


def json_body_problem(body: bytes) -> str | None:
    """Why a JSON body is refused before any route sees it, if it is: not UTF-8 (RFC 8259
    8.1), or refused by the parser for something else than a syntax error (nesting past
    Python's recursion limit, an integer past its 4,300-digit limit). A syntax error is left
    to the route, which answers its usual 422."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return NOT_UTF8
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return None
    except (RecursionError, ValueError):
        return BEYOND_THE_PARSER
    return None


def _is_form(content_type: str) -> bool:
    return media_type(content_type) in FORM_CONTENT_TYPES


class RequestGuardMiddleware:
    def __init__(self, app: ASGIApp, form_paths: Iterable[str] = ("/login",)) -> None:
        self.app = app
        self.form_paths = frozenset(form_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
            detail = [{"loc": ["query"], "msg": "must not contain U+0000", "type": "value_error"}]
            await self._reject(send, 422, detail, "VALIDATION_ERROR")
            return
        headers = {key.lower(): value for key, value in scope.get("headers", [])}
        declared = headers.get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            await self._reject(send, 413, TOO_LARGE, "PAYLOAD_TOO_LARGE")
            return

        body = bytearray()
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            more_body = message.get("more_body", False)
            if len(body) > MAX_BODY_BYTES:
                await self._reject(send, 413, TOO_LARGE, "PAYLOAD_TOO_LARGE")
                return

        if body:
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            problem = json_body_problem(bytes(body)) if _is_json(content_type) else None
            if problem is not None:
                detail = [{"loc": ["body"], "msg": problem, "type": "json_invalid"}]
                await self._reject(send, 422, detail, "VALIDATION_ERROR")
                return
            allowed = _is_json(content_type) or (
                scope.get("path") in self.form_paths and _is_form(content_type)
            )
            if not allowed:
                await self._reject(
                    send,
                    415,
                    "Send the body as application/json"
                    + (" or as a form." if scope.get("path") in self.form_paths else "."),
                    "UNSUPPORTED_MEDIA_TYPE",
                )
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _reject(send: Send, status: int, detail: object, code: str) -> None:
        payload = error_body_bytes(detail, code)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
