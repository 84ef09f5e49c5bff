"""The routes' one way off the event loop (I_ControllerPackage.blocking)."""

from __future__ import annotations

import threading
import time
from contextvars import ContextVar

import pytest

from I_ControllerPackage.blocking import run_blocking, run_blocking_within

pytestmark = pytest.mark.anyio


async def test_a_blocking_call_runs_off_the_event_loop_with_the_callers_context() -> None:
    request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
    request_id.set("req-1")

    def read(value: int) -> tuple[int, int, str | None]:
        return value * 2, threading.get_ident(), request_id.get()

    doubled, thread, seen_request_id = await run_blocking(read, 21)
    assert doubled == 42
    assert thread != threading.get_ident()
    assert seen_request_id == "req-1"


async def test_a_blocking_calls_error_reaches_the_caller() -> None:
    def read() -> None:
        raise LookupError("no such row")

    with pytest.raises(LookupError, match="no such row"):
        await run_blocking(read)


async def test_a_call_that_outlasts_its_time_is_a_timeout_without_waiting_for_it() -> None:
    release = threading.Event()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await run_blocking_within(0.2, lambda: release.wait(5))
    assert time.monotonic() - started < 2
    release.set()
    assert await run_blocking_within(1, lambda: 7) == 7
