"""Argon2 memory is bounded by the hasher's concurrency, not by how many threads call it.

Measured in fresh interpreters (resident memory is process-wide): forty caller threads (as
many as a worker's request threads) each verify a password three times with 16 MiB Argon2
parameters, through a hasher of concurrency two and through one of eight, and the resident
memory left afterwards is compared.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.live_server import PROJECT_ROOT

MIB = 1024 * 1024
SCRIPT = textwrap.dedent(
    """
    import os, sys, threading
    from E_SecurityPackage.password_hashing import PasswordHasher
    from tests.flood_support import rss_bytes

    hasher = PasswordHasher(16 * 1024, 1, 1, int(sys.argv[1]))
    stored = hasher.hash("correct horse battery staple")
    before = rss_bytes(os.getpid())

    def work():
        for _ in range(3):
            hasher.verify("wrong password here", stored)

    threads = [threading.Thread(target=work) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(rss_bytes(os.getpid()) - before)
    """
)


def retained_after_hashing(concurrency: int) -> int:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(concurrency)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return int(result.stdout.strip())


def test_hash_memory_is_bounded_by_the_concurrency_not_the_callers() -> None:
    two = retained_after_hashing(2)
    eight = retained_after_hashing(8)
    # Forty unbounded callers would keep up to forty 16 MiB blocks; two at once keep a few.
    assert two < 6 * 16 * MIB, two
    assert eight > two + 6 * 16 * MIB, (two, eight)
