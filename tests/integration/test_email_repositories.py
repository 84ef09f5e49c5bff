"""The repository parts of email verification and lockout notices, on the real databases:
tokens found by the address they are about (ignoring case), spent by purpose, accounts found
by address, and the lockout-notice claim that only one of several concurrent callers wins."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from A_DatabasePackage.database import Database
from B_EntityPackage.recovery_entities import SPENT_WHEN_ALL_ENDS, OneTimeToken, TokenPurpose
from F_RepositoryPackage.login_repository import SqlAlchemyUserRepository
from F_RepositoryPackage.recovery_repository import SqlAlchemyOneTimeTokenRepository
from tests.repository_support import NOW, make_user, seed

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def add_token(
    database: Database, user_id: int, purpose: TokenPurpose, email: str | None, name: str
) -> None:
    with database.session() as session:
        SqlAlchemyOneTimeTokenRepository(session).add(
            OneTimeToken(
                user_id=user_id,
                purpose=purpose.value,
                token_hash=name.ljust(64, "0"),
                code_hash="c" * 64,
                code_attempts=0,
                created_at=NOW,
                expires_at=NOW + timedelta(hours=1),
                email=email,
            )
        )
        session.commit()


def test_the_newest_live_token_about_an_address_is_found_ignoring_case(
    database: Database,
) -> None:
    (alice,) = seed(database, make_user("alice"))
    add_token(database, alice, TokenPurpose.EMAIL_CHANGE, "New@Example.com", "a")
    add_token(database, alice, TokenPurpose.EMAIL_CHANGE, "new@example.com", "b")
    add_token(database, alice, TokenPurpose.EMAIL_VERIFY, "new@example.com", "c")
    with database.session() as session:
        tokens = SqlAlchemyOneTimeTokenRepository(session)
        found = tokens.newest_live_for_email("NEW@example.COM", "email_change", NOW)
        assert found is not None
        assert found.token_hash.startswith("b")
        assert (
            tokens.newest_live_for_email(
                "new@example.com", "email_change", NOW + timedelta(hours=2)
            )
            is None
        )
        assert tokens.newest_live_for_email("other@example.com", "email_change", NOW) is None


def test_spending_by_purpose_leaves_the_other_purposes(database: Database) -> None:
    (alice,) = seed(database, make_user("alice"))
    for name, purpose in (("r", TokenPurpose.PASSWORD_RESET), ("n", TokenPurpose.NOT_ME)):
        add_token(database, alice, purpose, None, name)
    add_token(database, alice, TokenPurpose.EMAIL_VERIFY, "alice@example.com", "v")
    with database.session() as session:
        tokens = SqlAlchemyOneTimeTokenRepository(session)
        assert tokens.spend_all_of_user(alice, NOW, SPENT_WHEN_ALL_ENDS) == 2
        session.commit()
        left = tokens.live_by_hash("n".ljust(64, "0"), ("not_me",), NOW)
        assert left is not None
        assert tokens.live_by_hash("v".ljust(64, "0"), ("email_verify",), NOW) is None


def test_an_account_is_found_by_its_address_active_or_not(database: Database) -> None:
    alice, bob = seed(database, make_user("alice"), make_user("bob", is_active=False))
    with database.session() as session:
        users = SqlAlchemyUserRepository(session)
        assert users.id_by_email("ALICE@example.com") == alice
        assert users.id_by_email("bob@example.com") == bob
        assert users.id_by_email("carol@example.com") is None


def test_one_lockout_notice_claim_wins_per_window(database: Database) -> None:
    (alice,) = seed(database, make_user("alice"))
    barrier = threading.Barrier(6)

    def claim(_: int) -> bool:
        with database.session() as session:
            users = SqlAlchemyUserRepository(session)
            barrier.wait()
            won = users.claim_lockout_notice(alice, NOW, NOW - timedelta(minutes=15))
            session.commit()
            return won

    with ThreadPoolExecutor(6) as pool:
        assert sorted(pool.map(claim, range(6))) == [False] * 5 + [True]
    with database.session() as session:
        users = SqlAlchemyUserRepository(session)
        later = NOW + timedelta(minutes=10)
        assert not users.claim_lockout_notice(alice, later, later - timedelta(minutes=15))
        after = NOW + timedelta(minutes=15)
        assert users.claim_lockout_notice(alice, after, after - timedelta(minutes=15))
