"""Argon2id password hashing through passlib's CryptContext (libpass + argon2-cffi)."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import TypeVar

from passlib.context import CryptContext
from passlib.exc import UnknownHashError

HashTimer = Callable[[str], AbstractContextManager[object]]
Result = TypeVar("Result")

HASHING_THREAD_NICENESS = 10


def lower_this_thread_priority() -> None:
    """Run the calling thread HASHING_THREAD_NICENESS steps nicer than the process.

    Linux keeps a nice value per thread, so only the hashing threads give way: when the event
    loop has a health check or a token check to answer, the scheduler runs it before the
    Argon2 computation it interrupts, and the computations still get every cycle nobody else
    wants. Elsewhere (one nice value per process) this does nothing.
    """
    if sys.platform != "linux":
        return
    current = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        os.setpriority(os.PRIO_PROCESS, 0, min(19, current + HASHING_THREAD_NICENESS))
    except OSError:  # a sandbox that forbids it: hash at the process's priority
        return


def _untimed(_operation: str) -> AbstractContextManager[object]:
    return nullcontext()


class PasswordHasher:
    """Hashes and verifies passwords; reports when a stored hash needs re-hashing.

    Every call costs one Argon2 computation, including `verify_unknown_user`, so an unknown
    account and a wrong password take the same time. Calls block: run them off the event loop.

    The computations run on this hasher's own `concurrency` threads (HASH_CONCURRENCY, default
    the CPU count); callers wait for the result. A flood of sign-ins therefore holds at most
    that many times ARGON2_MEMORY_KIB of Argon2 memory, and each thread reuses the block its
    allocator kept from the previous computation: memory handed out fresh by the kernel for
    every computation costs about half as much again in page faults (bench/RESULTS.md).
    The threads run at a lower priority than the rest of the process (Linux).
    """

    def __init__(
        self,
        memory_kib: int,
        time_cost: int,
        parallelism: int,
        concurrency: int | None = None,
        timer: HashTimer = _untimed,
    ) -> None:
        """`timer(operation)` wraps each Argon2 computation (the app passes a metrics timer);
        `concurrency` is the number of hashing threads of this hasher."""
        self._timer = timer
        self.memory_kib = memory_kib
        self.time_cost = time_cost
        self.parallelism = parallelism
        self.concurrency = concurrency or os.cpu_count() or 1
        self._threads = self._new_threads()
        self._context = CryptContext(
            schemes=["argon2"],
            argon2__type="ID",
            argon2__memory_cost=memory_kib,
            argon2__rounds=time_cost,
            argon2__parallelism=parallelism,
        )
        self._dummy_hash = self._context.hash(secrets.token_urlsafe(32))

    def _new_threads(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(
            self.concurrency, thread_name_prefix="argon2", initializer=lower_this_thread_priority
        )

    def _compute(self, operation: str, computation: Callable[[], Result]) -> Result:
        def timed() -> Result:
            with self._timer(operation):
                return computation()

        return self._threads.submit(timed).result()

    def close(self) -> None:
        """End the hashing threads (the application's shutdown calls this); a later
        computation starts new ones."""
        idle_threads = self._threads
        self._threads = self._new_threads()
        idle_threads.shutdown(wait=False)

    def hash(self, password: str) -> str:
        hashed: str = self._compute("hash", lambda: self._context.hash(password))
        return hashed

    def verify(self, password: str, stored_hash: str) -> tuple[bool, str | None]:
        """(matches, replacement hash when the stored one used other parameters)."""
        try:
            matches, replacement = self._compute(
                "verify", lambda: self._context.verify_and_update(password, stored_hash)
            )
        except (UnknownHashError, ValueError):
            self.verify_unknown_user(password)
            return False, None
        return bool(matches), replacement

    def verify_unknown_user(self, password: str) -> None:
        """Spend the same work as a real verification, for an account that does not exist."""
        self._compute("verify", lambda: self._context.verify(password, self._dummy_hash))
