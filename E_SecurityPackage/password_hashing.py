"""Argon2id password hashing through passlib's CryptContext (libpass + argon2-cffi)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from passlib.context import CryptContext
from passlib.exc import UnknownHashError

HashTimer = Callable[[str], AbstractContextManager[object]]


def _untimed(_operation: str) -> AbstractContextManager[object]:
    return nullcontext()


class PasswordHasher:
    """Hashes and verifies passwords; reports when a stored hash needs re-hashing.

    Every call costs one Argon2 computation, including `verify_unknown_user`, so an unknown
    account and a wrong password take the same time. Calls block: run them off the event loop.
    """

    def __init__(
        self,
        memory_kib: int,
        time_cost: int,
        parallelism: int,
        timer: HashTimer = _untimed,
    ) -> None:
        """`timer(operation)` wraps each Argon2 computation (the app passes a metrics timer)."""
        self._timer = timer
        self.memory_kib = memory_kib
        self.time_cost = time_cost
        self.parallelism = parallelism
        self._context = CryptContext(
            schemes=["argon2"],
            argon2__type="ID",
            argon2__memory_cost=memory_kib,
            argon2__rounds=time_cost,
            argon2__parallelism=parallelism,
        )
        self._dummy_hash = self._context.hash(secrets.token_urlsafe(32))

    def hash(self, password: str) -> str:
        with self._timer("hash"):
            hashed: str = self._context.hash(password)
        return hashed

    def verify(self, password: str, stored_hash: str) -> tuple[bool, str | None]:
        """(matches, replacement hash when the stored one used other parameters)."""
        try:
            with self._timer("verify"):
                matches, replacement = self._context.verify_and_update(password, stored_hash)
        except (UnknownHashError, ValueError):
            self.verify_unknown_user(password)
            return False, None
        return bool(matches), replacement

    def verify_unknown_user(self, password: str) -> None:
        """Spend the same work as a real verification, for an account that does not exist."""
        with self._timer("verify"):
            self._context.verify(password, self._dummy_hash)
