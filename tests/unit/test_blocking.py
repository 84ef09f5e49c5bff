"""The routes' one way off the event loop (I_ControllerPackage.blocking)."""

from __future__ import annotations

import threading
import time
from contextvars import ContextVar
from functools import partial

import anyio
import pytest

from I_ControllerPackage.blocking import ThreadLane, run_blocking, run_blocking_within

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


async def test_a_full_lane_leaves_the_other_worker_threads_free() -> None:
    """Calls beyond a lane's size wait on the event loop; other calls still get a thread."""
    lane = ThreadLane(2)
    release = threading.Event()
    running = 0
    most = 0
    lock = threading.Lock()

    def hashing() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        release.wait(10)
        with lock:
            running -= 1

    async with anyio.create_task_group() as group:
        for _ in range(50):  # more than anyio's 40 worker threads
            group.start_soon(partial(run_blocking, hashing, lane=lane))
        await anyio.sleep(0.2)
        with anyio.fail_after(2):
            assert await run_blocking(lambda: "answered") == "answered"
        assert most == 2
        release.set()
