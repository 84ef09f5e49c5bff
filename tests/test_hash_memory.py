"""The allocator setting that returns each Argon2 computation's memory to the system.

Measured in fresh interpreters (the setting is process-wide, and this test process already
has it): eight threads each verify a password with 16 MiB Argon2 parameters, and the
resident memory left afterwards is compared.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest

from tests.live_server import PROJECT_ROOT

SCRIPT = textwrap.dedent(
    """
    import os, sys, threading
    from E_SecurityPackage.password_hashing import (
        PasswordHasher, return_hash_memory_to_the_system,
    )
    from tests.flood_support import rss_bytes

    if sys.argv[1] == "on":
        assert return_hash_memory_to_the_system()
    hasher = PasswordHasher(16 * 1024, 1, 1, 8)
    stored = hasher.hash("correct horse battery staple")
    before = rss_bytes(os.getpid())

    def work():
        for _ in range(3):
            hasher.verify("wrong password here", stored)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(rss_bytes(os.getpid()) - before)
    """
)


def retained_after_hashing(setting: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, setting],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return int(result.stdout.strip())


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a glibc allocator setting")
def test_hash_memory_goes_back_to_the_system() -> None:
    without = retained_after_hashing("off")
    with_setting = retained_after_hashing("on")
    assert with_setting < 16 * 1024 * 1024, with_setting
    assert without > with_setting + 32 * 1024 * 1024, (without, with_setting)
