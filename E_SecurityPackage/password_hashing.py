"""Argon2id password hashing through passlib's CryptContext (libpass + argon2-cffi)."""

from __future__ import annotations

import ctypes
import os
import secrets
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from passlib.context import CryptContext
from passlib.exc import UnknownHashError

HashTimer = Callable[[str], AbstractContextManager[object]]


def _untimed(_operation: str) -> AbstractContextManager[object]:
    return nullcontext()


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
LARGE_ALLOCATION_BYTES = 1024 * 1024


def return_hash_memory_to_the_system() -> bool:
    """Have glibc give every allocation of 1 MiB or more (each Argon2 computation's memory) its
    own mapping, unmapped when freed.

    By default glibc raises that threshold after the first such block is freed and then keeps
    later ones in per-thread arenas; hashing spread over many worker threads then leaves
    hundreds of MB resident after a flood of sign-ins. Process-wide and idempotent; True when
    applied, False where the C library has no mallopt (not glibc).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, LARGE_ALLOCATION_BYTES))


class PasswordHasher:
    """Hashes and verifies passwords; reports when a stored hash needs re-hashing.

    Every call costs one Argon2 computation, including `verify_unknown_user`, so an unknown
    account and a wrong password take the same time. Calls block: run them off the event loop.

    At most `concurrency` computations (HASH_CONCURRENCY, default the CPU count) run at once
    in this process; further callers wait, so a flood of sign-ins holds at most that many
    times ARGON2_MEMORY_KIB of Argon2 memory.
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
        `concurrency` bounds how many run at once in this process."""
        self._timer = timer
        self.memory_kib = memory_kib
        self.time_cost = time_cost
        self.parallelism = parallelism
        self.concurrency = concurrency or os.cpu_count() or 1
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._context = CryptContext(
            schemes=["argon2"],
            argon2__type="ID",
            argon2__memory_cost=memory_kib,
            argon2__rounds=time_cost,
            argon2__parallelism=parallelism,
        )
        self._dummy_hash = self._context.hash(secrets.token_urlsafe(32))

    def hash(self, password: str) -> str:
        with self._slots, self._timer("hash"):
            hashed: str = self._context.hash(password)
        return hashed

    def verify(self, password: str, stored_hash: str) -> tuple[bool, str | None]:
        """(matches, replacement hash when the stored one used other parameters)."""
        try:
            with self._slots, self._timer("verify"):
                matches, replacement = self._context.verify_and_update(password, stored_hash)
        except (UnknownHashError, ValueError):
            self.verify_unknown_user(password)
            return False, None
        return bool(matches), replacement

    def verify_unknown_user(self, password: str) -> None:
        """Spend the same work as a real verification, for an account that does not exist."""
        with self._slots, self._timer("verify"):
            self._context.verify(password, self._dummy_hash)
