"""A bounded flood of sign-ins against a live server, with probes of cheap routes during it and
the server's resident memory sampled from /proc. Shared by tests/ops/test_hash_flood.py and
bench/login_flood.py; it only ever talks to the loopback server it is given."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (VmRSS), or 0 once it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclass
class MemorySampler:
    """Samples a process's RSS every `interval` seconds in a thread; keeps the peak."""

    pid: int
    interval: float = 0.02
    peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> MemorySampler:
        self.peak = rss_bytes(self.pid)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            self._stop.wait(self.interval)

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


@dataclass
class Probe:
    """GETs `path` over and over on one connection until stopped; latencies in seconds."""

    base_url: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    pause: float = 0.05
    latencies: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Probe:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=60.0, headers=self.headers) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                response = client.get(self.path)
                self.latencies.append(time.perf_counter() - started)
                self.statuses.append(response.status_code)
                self._stop.wait(self.pause)

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=70)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


async def _flood(
    base_url: str, bodies: list[dict[str, str]], timeout: float, concurrency: int
) -> list[int]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:
        start = asyncio.Event()
        in_flight = asyncio.Semaphore(concurrency)

        async def one(body: dict[str, str]) -> int:
            await start.wait()
            async with in_flight:
                try:
                    response = await client.post("/login", json=body)
                except httpx.TransportError:
                    return 0
                return response.status_code

        tasks = [asyncio.create_task(one(body)) for body in bodies]
        await asyncio.sleep(0)
        start.set()
        return list(await asyncio.gather(*tasks))


def flood_logins(
    base_url: str,
    bodies: list[dict[str, str]],
    timeout: float = 300.0,
    concurrency: int | None = None,
) -> list[int]:
    """POST every body to /login, `concurrency` at a time (default: all at once), each on a
    connection of its own; the statuses in order (0: no answer)."""
    return asyncio.run(_flood(base_url, bodies, timeout, concurrency or len(bodies)))
