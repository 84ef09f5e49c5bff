"""The physical limit for sign-ins: Argon2id verifications per second on this machine, with
the service's own PasswordHasher and default parameters, in as many processes as the service
has workers (each verification is single-threaded with ARGON2_PARALLELISM=1)."""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from A_DatabasePackage.settings import Settings
from E_SecurityPackage.password_hashing import PasswordHasher

PASSWORD = "correct horse battery staple"  # noqa: S105 (the bench account's, everywhere in bench/)

Argon2Parameters = tuple[int, int, int]


def default_parameters() -> Argon2Parameters:
    """Memory (KiB), time cost and parallelism the service uses when none are configured."""
    fields = Settings.model_fields
    return (
        int(fields["ARGON2_MEMORY_KIB"].default),
        int(fields["ARGON2_TIME_COST"].default),
        int(fields["ARGON2_PARALLELISM"].default),
    )


def _verify_for(
    seconds: float,
    parameters: Argon2Parameters,
    start: Barrier,
    results: Queue[tuple[float, float]],
) -> None:
    """Put this process's verifications per second, and its CPU seconds per verification,
    over about `seconds` on `results`."""
    hasher = PasswordHasher(*parameters)
    stored = hasher.hash(PASSWORD)
    start.wait()  # every process verifies over the same stretch of time
    count = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    while (elapsed := time.perf_counter() - started) < seconds:
        matches, _ = hasher.verify(PASSWORD, stored)
        assert matches
        count += 1
    results.put((count / elapsed, (time.process_time() - cpu_started) / count))


def verify_rate(
    parameters: Argon2Parameters, processes: int, seconds: float
) -> tuple[float, float]:
    """Verifications per second summed over `processes` processes running at once, and the
    CPU seconds one verification takes."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes)
    results: Queue[tuple[float, float]] = context.Queue()
    workers = [
        context.Process(target=_verify_for, args=(seconds, parameters, start, results))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=seconds + 120) for _ in workers]
    for worker in workers:
        worker.join()
    return sum(rate for rate, _ in reports), sum(cpu for _, cpu in reports) / len(reports)
