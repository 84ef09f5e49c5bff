"""Measuring in alternating slices of about 2 s, and adding up each figure's slices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.figures import BackendResult
from bench.load import LoadResult, run_wrk
from bench.servers import Server


@dataclass
class Tally:
    """Requests, time, server CPU and errors of one figure's slices, added up."""

    requests: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def add(self, result: LoadResult, cpu_seconds: float) -> None:
        """Count one slice's requests, time and server CPU; note its errors, if any."""
        self.requests += result.requests
        self.seconds += result.seconds
        self.cpu_seconds += cpu_seconds
        if result.non_2xx or result.socket_errors:
            self.errors.append(
                f"{result.non_2xx} non-2xx answers, {result.socket_errors} socket errors "
                f"of {result.requests}"
            )

    def record(self, key: str, result: BackendResult) -> None:
        """`rate <key>` and `cpu <key>` into the result; errors become notes."""
        if self.seconds:
            result.figures[f"rate {key}"] = self.requests / self.seconds
        if self.requests:
            result.figures[f"cpu {key}"] = self.cpu_seconds / self.requests * 1000
        result.notes += [f"{key}: {error}" for error in self.errors]


def slices(seconds: float) -> tuple[int, int]:
    """How many slices of about 2 s (whole seconds, for wrk) make `seconds`."""
    count = max(1, round(seconds / 2))
    return count, max(1, round(seconds / count))


def in_turn(sides: Sequence[str], index: int) -> Sequence[str]:
    """The sides in one order on even slices and the other on odd ones."""
    return sides if index % 2 == 0 else sides[::-1]


def measure(server: Server, script: str, seconds: float, connections: int, tally: Tally) -> None:
    """Load `server` with wrk running `script` for one slice; add the slice to `tally`."""
    before = server.cpu_seconds()
    result = run_wrk(server.base_url, script, seconds, connections)
    tally.add(result, server.cpu_seconds() - before)
