"""The second-factor repository on SQLite and PostgreSQL: every code and mfa token is spent
by one conditional UPDATE, so a second transaction spending the same one, even while the
first is still open, changes nothing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from A_DatabasePackage.database import Database
from F_RepositoryPackage.mfa_repository import SqlAlchemyMfaRepository
from tests.repository_support import NOW, make_user, seed

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def enabled_user(database: Database, step: int = 100) -> int:
    [user_id] = seed(database, make_user("alice"))
    with database.session() as session:
        mfa = SqlAlchemyMfaRepository(session)
        mfa.start_enrollment(user_id, "k1", "ciphertext", NOW)
        assert mfa.enable(user_id, step, NOW)
        mfa.replace_recovery_codes(user_id, ["a" * 64, "b" * 64], NOW)
        session.commit()
    return user_id


def test_steps_only_move_forward(database: Database) -> None:
    user_id = enabled_user(database, step=100)
    with database.session() as session:
        mfa = SqlAlchemyMfaRepository(session)
        assert not mfa.accept_step(user_id, 100)  # the confirmation's step is spent
        assert not mfa.accept_step(user_id, 99)
        assert mfa.accept_step(user_id, 101)
        assert not mfa.accept_step(user_id, 101)
        assert not mfa.enable(user_id, 102, NOW)  # already on
        session.commit()


def test_a_pending_secret_accepts_no_step(database: Database) -> None:
    [user_id] = seed(database, make_user("bob"))
    with database.session() as session:
        mfa = SqlAlchemyMfaRepository(session)
        mfa.start_enrollment(user_id, "k1", "ciphertext", NOW)
        assert not mfa.accept_step(user_id, 5)
        assert not mfa.is_enabled(user_id)
        stored = mfa.totp_of(user_id)
        assert stored is not None
        assert not stored.enabled


def test_recovery_codes_are_spent_once_and_counted(database: Database) -> None:
    user_id = enabled_user(database)
    with database.session() as session:
        mfa = SqlAlchemyMfaRepository(session)
        assert mfa.recovery_codes_remaining(user_id) == 2
        assert mfa.use_recovery_code(user_id, "a" * 64, NOW)
        assert not mfa.use_recovery_code(user_id, "a" * 64, NOW)
        assert not mfa.use_recovery_code(user_id, "c" * 64, NOW)
        assert mfa.recovery_codes_remaining(user_id) == 1
        mfa.replace_recovery_codes(user_id, ["d" * 64], NOW)
        assert not mfa.use_recovery_code(user_id, "b" * 64, NOW)
        assert mfa.recovery_codes_remaining(user_id) == 1


def test_pending_sign_ins_are_spent_once_and_expire(database: Database) -> None:
    user_id = enabled_user(database)
    later = NOW + timedelta(minutes=5)
    with database.session() as session:
        mfa = SqlAlchemyMfaRepository(session)
        mfa.add_pending_sign_in("t1", user_id, 0, NOW, later)
        mfa.add_pending_sign_in("t2", user_id, 0, NOW, later)
        pending = mfa.pending_sign_in("t1", NOW)
        assert pending is not None
        assert (pending.user_id, pending.token_version) == (user_id, 0)
        assert mfa.spend_pending_sign_in("t1", NOW)
        assert not mfa.spend_pending_sign_in("t1", NOW)
        assert mfa.pending_sign_in("t1", NOW) is None
        assert mfa.pending_sign_in("t2", later) is None
        assert not mfa.spend_pending_sign_in("t2", later)
        assert mfa.remove(user_id)
        assert mfa.pending_sign_in("t2", NOW) is None
        assert mfa.totp_of(user_id) is None
        assert mfa.recovery_codes_remaining(user_id) == 0
        assert not mfa.remove(user_id)


def test_a_step_spent_in_an_open_transaction_cannot_be_spent_by_another(
    database: Database,
) -> None:
    """The first transaction spends step 101 and holds it uncommitted; the second, trying the
    same step, waits for it (PostgreSQL's row lock, SQLite's write lock) and then finds it
    spent."""
    user_id = enabled_user(database)
    first_spent = threading.Event()
    with database.session() as first, ThreadPoolExecutor(max_workers=1) as pool:
        assert SqlAlchemyMfaRepository(first).accept_step(user_id, 101)
        first_spent.set()

        def second_attempt() -> bool:
            first_spent.wait(timeout=10)
            with database.session() as second:
                spent = SqlAlchemyMfaRepository(second).accept_step(user_id, 101)
                second.commit()
                return spent

        outcome = pool.submit(second_attempt)
        threading.Event().wait(0.5)  # the second is now waiting for the first's lock
        assert not outcome.done()
        first.commit()
        assert outcome.result(timeout=30) is False
