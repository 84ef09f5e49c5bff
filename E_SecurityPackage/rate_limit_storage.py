"""A `limits` storage kept in this process's memory and driven by an injectable clock.

limits' own MemoryStorage reads `time.time()` directly, so a test cannot move its windows
forward. This one implements the same moving-window contract (and the fixed-window counters,
for completeness) against a `Clock`: the system clock in production, a FakeClock in tests.
Expired keys are swept every SWEEP_EVERY operations, so many distinct keys (an attacker
rotating names or addresses) do not pile up.
"""

from __future__ import annotations

import threading
from typing import Protocol, cast, runtime_checkable

import redis
from limits.storage import MovingWindowSupport, RedisStorage, Storage

from B_EntityPackage.domain import Clock

SWEEP_EVERY = 1024


@runtime_checkable
class ReleasableEntries(Protocol):
    """A moving-window storage that can give back one entry of a window (limits has no such
    operation): a sign-in that turned out right returns the place it held."""

    def release_entry(self, key: str) -> None: ...


class ReleasableRedisStorage(RedisStorage):
    """limits' Redis storage: a moving window is a list of timestamps, newest first."""

    def release_entry(self, key: str) -> None:
        connection = cast(redis.Redis, self.get_connection())
        connection.lpop(self.prefixed_key(key))


class ClockMemoryStorage(Storage, MovingWindowSupport):
    STORAGE_SCHEME = None  # not registered with storage_from_string: built directly

    def __init__(self, clock: Clock) -> None:
        super().__init__(None)
        self.clock = clock
        self._lock = threading.Lock()
        # Moving windows: per key, entry timestamps newest first, and when the key lapses.
        self._events: dict[str, list[float]] = {}
        self._event_expiry: dict[str, float] = {}
        # Fixed windows: per key, a count and when it lapses.
        self._counters: dict[str, tuple[int, float]] = {}
        self._operations = 0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ValueError

    def now(self) -> float:
        return self.clock.now().timestamp()

    def _tick(self, now: float) -> None:
        """Count an operation; every SWEEP_EVERY of them drop every lapsed key. Holds the lock."""
        self._operations += 1
        if self._operations % SWEEP_EVERY:
            return
        for key in [key for key, expiry in self._event_expiry.items() if expiry <= now]:
            self._events.pop(key, None)
            self._event_expiry.pop(key, None)
        for key in [key for key, (_, expiry) in self._counters.items() if expiry <= now]:
            del self._counters[key]

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = self.now()
        with self._lock:
            self._tick(now)
            entries = [stamp for stamp in self._events.get(key, []) if stamp > now - expiry]
            if len(entries) + amount > limit:
                self._events[key] = entries
                return False
            self._events[key] = [now] * amount + entries
            self._event_expiry[key] = now + expiry
            return True

    def release_entry(self, key: str) -> None:
        with self._lock:
            entries = self._events.get(key)
            if entries:
                entries.pop(0)

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(the oldest entry still in the window, how many entries it holds)."""
        now = self.now()
        with self._lock:
            entries = [stamp for stamp in self._events.get(key, []) if stamp > now - expiry]
            if not entries:
                return now, 0
            return entries[-1], len(entries)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self.now()
        with self._lock:
            self._tick(now)
            count, lapses = self._counters.get(key, (0, now + expiry))
            if lapses <= now:
                count, lapses = 0, now + expiry
            self._counters[key] = (count + amount, lapses)
            return count + amount

    def get(self, key: str) -> int:
        now = self.now()
        with self._lock:
            count, lapses = self._counters.get(key, (0, now))
            return count if lapses > now else 0

    def get_expiry(self, key: str) -> float:
        now = self.now()
        with self._lock:
            _, lapses = self._counters.get(key, (0, now))
            return max(lapses, now)

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self._lock:
            cleared = len(self._events) + len(self._counters)
            self._events.clear()
            self._event_expiry.clear()
            self._counters.clear()
            return cleared

    def clear(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)
            self._event_expiry.pop(key, None)
            self._counters.pop(key, None)
