"""How often sign-ins clear out expired session bookkeeping: at most once per PRUNE_INTERVAL
per process. Expired rows are never trusted (every check compares the expiry), so deleting
them a minute late changes nothing but the table's size."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

PRUNE_INTERVAL = timedelta(minutes=1)


class PruneSchedule:
    """Says yes to the first caller, then to the first caller at least `interval` later (by the
    injected clock's time). One per process, shared by every request's SessionService."""

    def __init__(self, interval: timedelta = PRUNE_INTERVAL) -> None:
        self.interval = interval
        self._next_due: datetime | None = None
        self._lock = threading.Lock()

    def claim(self, now: datetime) -> bool:
        with self._lock:
            if self._next_due is not None and now < self._next_due:
                return False
            self._next_due = now + self.interval
            return True
