"""The hashing threads give way to the rest of the process (Linux keeps a nice value per
thread), so a flood of sign-ins does not slow health checks and token checks down as much."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from E_SecurityPackage.password_hashing import HASHING_THREAD_NICENESS, PasswordHasher

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="per-thread nice values are Linux's"
)


def this_thread_niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, 0)


def test_hashing_threads_run_nicer_than_their_callers() -> None:
    hasher = PasswordHasher(1024, 1, 1, concurrency=2)
    caller = this_thread_niceness()
    try:
        hashing = hasher._compute("verify", this_thread_niceness)
        matches, _ = hasher.verify("correct horse battery staple", hasher.hash("x" * 12))
    finally:
        hasher.close()
    assert hashing == min(19, caller + HASHING_THREAD_NICENESS)
    assert hashing > caller
    assert matches is False
    assert this_thread_niceness() == caller  # the caller keeps its priority


def test_other_threads_keep_the_process_priority() -> None:
    hasher = PasswordHasher(1024, 1, 1, concurrency=1)
    caller = this_thread_niceness()
    seen: list[int] = []
    try:
        hasher.hash("correct horse battery staple")
        other = threading.Thread(target=lambda: seen.append(this_thread_niceness()))
        other.start()
        other.join()
    finally:
        hasher.close()
    assert seen == [caller]


def test_restarted_hashing_threads_are_nice_too() -> None:
    hasher = PasswordHasher(1024, 1, 1, concurrency=1)
    caller = this_thread_niceness()
    hasher.close()
    try:
        assert hasher._compute("hash", this_thread_niceness) == min(
            19, caller + HASHING_THREAD_NICENESS
        )
    finally:
        hasher.close()
