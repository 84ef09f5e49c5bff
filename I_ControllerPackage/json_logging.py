"""JSON log lines on stdout, one object per line, for the "auth_service" logger tree.

Every record of "auth_service" and its children ("auth_service.errors", "auth_service.requests",
...) becomes `{"time", "level", "logger", "message", "pid", "request_id"?, ...extra fields}`.
The id of the request being served is taken from a context variable that the request
middleware sets, so application events carry it too. Extra fields whose name suggests a
secret (password, token, secret, authorization, hash, cookie) are written as "[redacted]":
a last guard, since nothing is supposed to log such values in the first place.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

ROOT_LOGGER_NAME = "auth_service"
REDACTED = "[redacted]"
SENSITIVE_KEY_PARTS = ("password", "token", "secret", "authorization", "hash", "cookie")

current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)

_BARE_RECORD = logging.LogRecord("", logging.INFO, "", 0, "", None, None)
# Standard attributes, plus uvicorn's copy of its message with terminal colours.
_RECORD_ATTRIBUTES = frozenset(vars(_BARE_RECORD)) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


@functools.lru_cache(maxsize=1024)
def _is_sensitive(key: str) -> bool:
    lowered = key.lower()
    return any(part in lowered for part in SENSITIVE_KEY_PARTS)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        request_id = current_request_id.get()
        if request_id is not None:
            payload["request_id"] = request_id
        for key, value in vars(record).items():
            if key in _RECORD_ATTRIBUTES or key.startswith("_"):
                continue
            payload[key] = REDACTED if _is_sensitive(key) else value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


class StdoutHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stdout is at the time (test runners swap it per test)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        return


def configure_logging(level: str = "INFO") -> None:
    """Attach the JSON handler to "auth_service" once per process, and set its level.

    Records still propagate to the root logger (where test runners capture them); in
    production the root logger has no handler, so each line is written once.
    """
    logger = logging.getLogger(ROOT_LOGGER_NAME)
    logger.setLevel(level)
    if not any(isinstance(handler, StdoutHandler) for handler in logger.handlers):
        handler = StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
