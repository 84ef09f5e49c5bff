"""Argon2id password hashing through passlib's CryptContext (libpass + argon2-cffi)."""

from __future__ import annotations

import ctypes
import secrets
import sys
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TypeVar

from passlib.context import CryptContext
from passlib.exc import UnknownHashError

HashTimer = Callable[[str], AbstractContextManager[object]]
Result = TypeVar("Result")

GLIBC_M_ARENA_MAX = -8  # mallopt's parameter number for the arena limit


def cap_malloc_arenas(count: int) -> None:
    """On glibc, let the process's threads share at most `count` malloc arenas.

    Each Argon2 computation allocates ARGON2_MEMORY_KIB at once, and glibc keeps a freed block
    of that size in the arena of the thread that computed, for the next allocation. Computed in
    the request threads (up to 40), every arena would keep one: hundreds of MiB per process.
    With as many arenas as computations at once, the kept blocks are the ones the next
    computations reuse. Elsewhere (no glibc) this does nothing.
    """
    if sys.platform != "linux":
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(GLIBC_M_ARENA_MAX, max(1, count))


def _untimed(_operation: str) -> AbstractContextManager[object]:
    return nullcontext()


class PasswordHasher:
    """Hashes and verifies passwords; reports when a stored hash needs re-hashing.

    Every call costs one Argon2 computation, `verify_unknown_user` included, so an unknown
    account and a wrong password take the same time. Calls block: run them off the event loop.
    At most `concurrency` computations (HASH_CONCURRENCY) run at once in a process, in the
    callers' own threads; further callers wait their turn. This alone bounds the memory
    Argon2 takes (`concurrency` x ARGON2_MEMORY_KIB) and the CPU a flood of sign-ins can use.
    """

    def __init__(
        self,
        memory_kib: int,
        time_cost: int,
        parallelism: int,
        concurrency: int = 1,
        timer: HashTimer = _untimed,
    ) -> None:
        """`timer(operation)` wraps each Argon2 computation (the app passes a metrics timer)."""
        self._timer = timer
        self.memory_kib = memory_kib
        self.time_cost = time_cost
        self.parallelism = parallelism
        self.concurrency = concurrency
        self._slots = threading.BoundedSemaphore(concurrency)
        cap_malloc_arenas(concurrency)
        self._context = CryptContext(
            schemes=["argon2"],
            argon2__type="ID",
            argon2__memory_cost=memory_kib,
            argon2__rounds=time_cost,
            argon2__parallelism=parallelism,
        )
        self._dummy_hash = self._context.hash(secrets.token_urlsafe(32))

    def _compute(self, operation: str, computation: Callable[[], Result]) -> Result:
        with self._slots, self._timer(operation):
            return computation()

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
