"""Expired session bookkeeping is pruned at sign-in, at most once per PRUNE_INTERVAL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from H_ServiceImplementationPackage.session_pruning import PRUNE_INTERVAL, PruneSchedule
from tests.fakes import registered, service_kit, signed_in

START = datetime(2030, 1, 1, tzinfo=UTC)


def test_the_first_claim_is_granted_and_the_next_only_after_the_interval() -> None:
    schedule = PruneSchedule(timedelta(seconds=60))
    assert schedule.claim(START) is True
    assert schedule.claim(START) is False
    assert schedule.claim(START + timedelta(seconds=59)) is False
    assert schedule.claim(START + timedelta(seconds=60)) is True
    assert schedule.claim(START + timedelta(seconds=61)) is False


def test_racing_claims_grant_exactly_one() -> None:
    schedule = PruneSchedule()
    granted: list[bool] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        granted.append(schedule.claim(START))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(granted) == [False] * 7 + [True]


def test_sign_ins_within_the_interval_prune_once() -> None:
    kit = service_kit()
    registered(kit)
    for _ in range(3):
        signed_in(kit)
    assert kit.uow.sessions.prunes == 1
    kit.clock.advance(seconds=PRUNE_INTERVAL.total_seconds())
    signed_in(kit)
    assert kit.uow.sessions.prunes == 2
