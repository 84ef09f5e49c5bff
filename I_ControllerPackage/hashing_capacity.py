"""Routes that hash passwords wait for a slot on the event loop, not in a thread.

At most CALLS_PER_HASHING_THREAD x HASH_CONCURRENCY service calls that hash run at once per
process; the PasswordHasher's own HASH_CONCURRENCY threads bound the Argon2 computations (and
their memory) themselves. The extra calls do their database work (loading the account,
opening the session) while the others hash, so the hashing threads never wait for it. A
request waiting for its turn is a parked coroutine, not a parked worker thread, so a flood of
sign-ins cannot occupy the thread pool that cheap routes such as /users/me and /healthz need.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, TypeVarTuple, Unpack

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request

T = TypeVar("T")
Arguments = TypeVarTuple("Arguments")

CALLS_PER_HASHING_THREAD = 2


def install_hash_limiter(app: FastAPI, hash_concurrency: int) -> anyio.CapacityLimiter:
    """Create the limiter on the running event loop (called from the lifespan)."""
    limiter = anyio.CapacityLimiter(CALLS_PER_HASHING_THREAD * hash_concurrency)
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
