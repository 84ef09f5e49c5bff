"""The one way the routes leave the event loop.

Routes are `async def`. Every call that blocks (the services: database, Redis, Argon2) runs
through `run_blocking`, on anyio's worker threads (40 per process, Starlette's
`run_in_threadpool`); a request makes one such hop per service call. The PasswordHasher bounds
how many of those threads compute Argon2 at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, TypeVarTuple, Unpack

import anyio
import anyio.to_thread

T = TypeVar("T")
Arguments = TypeVarTuple("Arguments")


async def run_blocking(call: Callable[[Unpack[Arguments]], T], *args: *Arguments) -> T:
    """`call(*args)` on a worker thread; the caller's context variables go with it."""
    return await anyio.to_thread.run_sync(call, *args)


async def run_blocking_within(seconds: float, call: Callable[[], T]) -> T:
    """`call()` on a worker thread, waited for at most `seconds`: past that, TimeoutError (the
    call then finishes in its thread, unawaited)."""
    with anyio.fail_after(seconds):
        return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
