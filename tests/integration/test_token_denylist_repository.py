"""SqlAlchemyTokenDenylist alone, on SQLite and PostgreSQL: the database denylist of access
tokens ended before their expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from A_DatabasePackage.database import Database
from B_EntityPackage.session_entities import RevokedAccessToken
from F_RepositoryPackage.token_denylist import DeniedToken, SqlAlchemyTokenDenylist
from tests.support import FixedClock

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
LATER = NOW + timedelta(days=7)


pytestmark = pytest.mark.backends("sqlite", "postgresql")  # Redis plays no part here


def test_token_denylist_denies_until_expiry(database: Database) -> None:
    clock = FixedClock(NOW)
    with database.session() as session:
        denylist = SqlAlchemyTokenDenylist(session, clock)
        assert denylist.is_denied("j1") is False
        denylist.deny(
            [
                DeniedToken("j1", NOW + timedelta(minutes=5)),
                DeniedToken("j2", NOW + timedelta(minutes=10)),
                DeniedToken("past", NOW),
            ]
        )
        denylist.deny([DeniedToken("j1", NOW + timedelta(minutes=5))])  # twice is fine
        denylist.deny([])
        session.commit()
    with database.session() as session:  # the expired one is not even written
        assert session.scalar(select(func.count()).select_from(RevokedAccessToken)) == 2
    with database.session() as session:
        denylist = SqlAlchemyTokenDenylist(session, clock)
        assert (denylist.is_denied("j1"), denylist.is_denied("j2")) == (True, True)
        assert (denylist.is_denied("past"), denylist.is_denied("other")) == (False, False)
        clock.moment = NOW + timedelta(minutes=5)
        assert (denylist.is_denied("j1"), denylist.is_denied("j2")) == (False, True)


def test_denied_tokens_are_only_kept_when_committed(database: Database) -> None:
    with database.session() as session:
        SqlAlchemyTokenDenylist(session, FixedClock(NOW)).deny([DeniedToken("j1", LATER)])
        session.rollback()
    with database.session() as session:
        assert SqlAlchemyTokenDenylist(session, FixedClock(NOW)).is_denied("j1") is False


def test_any_of_several_identifiers_in_one_query(database: Database) -> None:
    """A token's jti and its key's revocation mark are asked together (the access check)."""
    clock = FixedClock(NOW)
    with database.session() as session:
        SqlAlchemyTokenDenylist(session, clock).deny(
            [DeniedToken("kid:abc", NOW + timedelta(minutes=5))]
        )
        session.commit()
    with database.session() as session:
        denylist = SqlAlchemyTokenDenylist(session, clock)
        assert denylist.is_any_denied(["j1", "kid:abc"]) is True
        assert denylist.is_any_denied(["j1", "kid:other"]) is False
        clock.moment = NOW + timedelta(minutes=5)
        assert denylist.is_any_denied(["j1", "kid:abc"]) is False
