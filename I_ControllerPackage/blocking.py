"""The one way the routes leave the event loop.

Routes are `async def`. Every call that blocks (the services: database, Redis, Argon2) runs
through `run_blocking`, on a worker thread, one hop per service call. Calls share anyio's 40
worker threads per process, except the calls that hash a password: those go in their own
`ThreadLane`, so that a flood of sign-ins waits on the event loop instead of taking every
thread that token checks and other cheap requests need. How many Argon2 computations run at
once is bounded by the PasswordHasher alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, TypeVarTuple, Unpack

import anyio
import anyio.to_thread

T = TypeVar("T")
Arguments = TypeVarTuple("Arguments")


class ThreadLane:
    """At most `size` calls of this lane in worker threads at once; later calls wait for a
    turn on the event loop, first come first served."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._limiter: anyio.CapacityLimiter | None = None

    def limiter(self) -> anyio.CapacityLimiter:
        """Made at first use, on the running event loop."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.size)
        return self._limiter


async def run_blocking(
    call: Callable[[Unpack[Arguments]], T], *args: *Arguments, lane: ThreadLane | None = None
) -> T:
    """`call(*args)` on a worker thread (of `lane`, if given); the caller's context variables
    go with it."""
    limiter = lane.limiter() if lane is not None else None
    return await anyio.to_thread.run_sync(call, *args, limiter=limiter)


async def run_blocking_within(seconds: float, call: Callable[[], T]) -> T:
    """`call()` on a worker thread, waited for at most `seconds`: past that, TimeoutError (the
    call then finishes in its thread, unawaited)."""
    with anyio.fail_after(seconds):
        return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
