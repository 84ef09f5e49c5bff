"""Routes that hash passwords wait for a hashing slot on the event loop, not in a thread.

At most HASH_CONCURRENCY service calls that hash run at once per process (the PasswordHasher's
own semaphore bounds the Argon2 computations themselves). A request waiting for its turn is a
parked coroutine, not a parked worker thread, so a flood of sign-ins cannot occupy the thread
pool that cheap routes such as /users/me and /healthz need.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, TypeVarTuple, Unpack

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request

T = TypeVar("T")
Arguments = TypeVarTuple("Arguments")


def install_hash_limiter(app: FastAPI, concurrency: int) -> anyio.CapacityLimiter:
    """Create the limiter on the running event loop (called from the lifespan)."""
    limiter = anyio.CapacityLimiter(concurrency)
    app.state.hash_limiter = limiter
    return limiter


async def run_hashing(
    request: Request, call: Callable[[Unpack[Arguments]], T], *args: *Arguments
) -> T:
    """Run a blocking service call that hashes, in a worker thread, once a slot is free."""
    limiter: anyio.CapacityLimiter | None = getattr(request.app.state, "hash_limiter", None)
    if limiter is None:  # an app driven without its lifespan (a bare TestClient)
        limiter = install_hash_limiter(request.app, request.app.state.settings.HASH_CONCURRENCY)
    return await anyio.to_thread.run_sync(call, *args, limiter=limiter)
