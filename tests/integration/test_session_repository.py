"""SqlAlchemySessionRepository alone, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from A_DatabasePackage.database import Database
from B_EntityPackage.session_entities import (
    AuthSession,
    RefreshToken,
    RevokedAccessToken,
    SessionAccessToken,
)
from D_CustomExceptionPackage.errors import UserNotFoundError
from F_RepositoryPackage.login_repository import SqlAlchemyUserRepository
from F_RepositoryPackage.session_repository import SqlAlchemySessionRepository
from F_RepositoryPackage.token_denylist import DeniedToken, SqlAlchemyTokenDenylist
from tests.repository_support import make_user
from tests.support import FixedClock

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
LATER = NOW + timedelta(days=7)
EARLIER = NOW - timedelta(seconds=1)


pytestmark = pytest.mark.backends("sqlite", "postgresql")  # Redis plays no part here


def add_user(session: Session, name: str) -> int:
    return SqlAlchemyUserRepository(session).add(make_user(name)).id


def add_session(
    repository: SqlAlchemySessionRepository, user_id: int, expires_at: datetime = LATER
) -> int:
    auth_session = AuthSession(
        user_id=user_id,
        created_at=NOW - timedelta(hours=1),
        last_used_at=NOW - timedelta(hours=1),
        expires_at=expires_at,
        user_agent="agent",
        ip="192.0.2.1",
    )
    return repository.add(auth_session)


def add_refresh_token(
    repository: SqlAlchemySessionRepository,
    session_id: int,
    token_hash: str,
    expires_at: datetime = LATER,
) -> None:
    repository.add_refresh_token(
        RefreshToken(
            session_id=session_id, token_hash=token_hash, created_at=NOW, expires_at=expires_at
        )
    )


def ended(session: Session, session_id: int) -> datetime | None:
    auth_session = SqlAlchemySessionRepository(session).get(session_id)
    assert auth_session is not None
    return auth_session.ended_at


def count(database: Database, entity: type[object]) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(entity)) or 0)


def test_add_and_get_round_trip(database: Database) -> None:
    with database.session() as session:
        repository = SqlAlchemySessionRepository(session)
        user_id = add_user(session, "alice")
        session_id = add_session(repository, user_id)
        assert session_id >= 1
        session.commit()
    with database.session() as session:
        loaded = SqlAlchemySessionRepository(session).get(session_id)
        assert loaded is not None
        assert (loaded.user_id, loaded.user_agent, loaded.ip) == (user_id, "agent", "192.0.2.1")
        assert (loaded.expires_at, loaded.ended_at) == (LATER, None)
        assert loaded.expires_at.tzinfo is not None
        assert SqlAlchemySessionRepository(session).get(session_id + 1000) is None


def test_the_rows_of_a_sign_in_are_written_at_once_and_roll_back_together(
    database: Database,
) -> None:
    """add, add_refresh_token and record_access_token write in the unit of work's transaction:
    a commit keeps all of them, a rollback takes all of them back."""
    with database.session() as session:
        user_id = add_user(session, "alice")
        session.commit()
    with database.session() as session:
        repository = SqlAlchemySessionRepository(session)
        auth_session = AuthSession(
            user_id=user_id, created_at=NOW, last_used_at=NOW, expires_at=LATER
        )
        session_id = repository.add(auth_session)
        add_refresh_token(repository, session_id, "g" * 64)
        repository.record_access_token(session_id, "jti-1", LATER)
        session.commit()
    counted = [
        count(database, entity) for entity in (AuthSession, RefreshToken, SessionAccessToken)
    ]
    assert counted == [1, 1, 1]
    with database.session() as session:
        stored = SqlAlchemySessionRepository(session).get(session_id)
        assert stored is not None
        assert (stored.user_id, stored.ip, stored.expires_at) == (user_id, None, LATER)
    with database.session() as session:
        repository = SqlAlchemySessionRepository(session)
        second = repository.add(
            AuthSession(user_id=user_id, created_at=NOW, last_used_at=NOW, expires_at=LATER)
        )
        assert second > session_id
        add_refresh_token(repository, second, "h" * 64)
        repository.record_access_token(second, "jti-2", LATER)
        session.rollback()
    assert (count(database, AuthSession), count(database, RefreshToken)) == (1, 1)
    assert count(database, SessionAccessToken) == 1


def test_a_session_needs_an_existing_user(database: Database) -> None:
    with database.session() as session, pytest.raises(UserNotFoundError):
        add_session(SqlAlchemySessionRepository(session), 999_999)


def test_a_refresh_token_is_spent_exactly_once(database: Database) -> None:
    with database.session() as session:
        repository = SqlAlchemySessionRepository(session)
        session_id = add_session(repository, add_user(session, "alice"))
        add_refresh_token(repository, session_id, "a" * 64)
        session.commit()
    with database.session() as session:
        assert SqlAlchemySessionRepository(session).spend_refresh_token("a" * 64, NOW) is True
        session.commit()
    with database.session() as session:
        repository = SqlAlchemySessionRepository(session)
        assert repository.spend_refresh_token("a" * 64, NOW) is False
        assert repository.spend_refresh_token("a" * 64, NOW + timedelta(seconds=5)) is False
        stored = repository.find_refresh_token("a" * 64)
        assert stored is not None
        assert (stored.session_id, stored.spent_at) == (session_id, NOW)


def test_a_spend_that_is_not_committed_is_undone(database: Database) -> None:
    with database.session() as session:
        repository = SqlAlchemySessionRepository(session)
        add_refresh_token(repository, add_session(repository, add_user(session, "a")), "b" * 64)
        session.commit()
    with database.session() as session:
        repository = SqlAlchemySessionRepository(session)
        assert repository.spend_refresh_token("b" * 64, NOW) is True
        assert repository.spend_refresh_token("b" * 64, NOW) is False
        session.rollback()
    with database.session() as session:
        assert SqlAlchemySessionRepository(session).spend_refresh_token("b" * 64, NOW) is True


def test_expired_and_unknown_refresh_tokens_are_not_spent(database: Database) -> None:
    with database.session() as session:
        repository = SqlAlchemySessionRepository(session)
        session_id = add_session(repository, add_user(session, "alice"))
        add_refresh_token(repository, session_id, "c" * 64, expires_at=NOW)
        add_refresh_token(repository, session_id, "d" * 64, expires_at=EARLIER)
        session.commit()
    with database.session() as session:
        repository = SqlAlchemySessionRepository(session)
        assert repository.spend_refresh_token("c" * 64, NOW) is False
        assert repository.spend_refresh_token("d" * 64, NOW) is False
        assert repository.spend_refresh_token("e" * 64, NOW) is False
        assert repository.find_refresh_token("e" * 64) is None
        stored = repository.find_refresh_token("c" * 64)
        assert stored is not None
        assert stored.spent_at is None
        # one second earlier the first one was still good
        assert repository.spend_refresh_token("c" * 64, EARLIER) is True


def test_refresh_token_hashes_are_unique(database: Database) -> None:
    with database.session() as session:
        repository = SqlAlchemySessionRepository(session)
        session_id = add_session(repository, add_user(session, "alice"))
        add_refresh_token(repository, session_id, "f" * 64)
        with pytest.raises(IntegrityError):
            add_refresh_token(repository, session_id, "f" * 64)


def test_end_returns_only_unexpired_access_tokens(database: Database) -> None:
    with database.session() as session:
        repository = SqlAlchemySessionRepository(session)
        user_id = add_user(session, "alice")
        doomed, other = add_session(repository, user_id), add_session(repository, user_id)
        repository.record_access_token(doomed, "live", NOW + timedelta(minutes=5))
        repository.record_access_token(doomed, "expired", NOW)
        repository.record_access_token(other, "other", NOW + timedelta(minutes=5))
        session.commit()
    with database.session() as session:
        repository = SqlAlchemySessionRepository(session)
        auth_session = repository.get(doomed)
        assert auth_session is not None
        denied = repository.end(auth_session, NOW)
        assert denied == [DeniedToken(jti="live", expires_at=NOW + timedelta(minutes=5))]
        session.commit()
    with database.session() as session:
        assert ended(session, doomed) == NOW
        assert ended(session, other) is None


def test_end_all_of_user_ends_only_that_users_open_sessions(database: Database) -> None:
    with database.session() as session:
        repository = SqlAlchemySessionRepository(session)
        alice, bob = add_user(session, "alice"), add_user(session, "bob")
        first, second = add_session(repository, alice), add_session(repository, alice)
        already = add_session(repository, alice)
        bobs = add_session(repository, bob)
        for jti, session_id in [("j1", first), ("j2", second), ("j3", already), ("j4", bobs)]:
            repository.record_access_token(session_id, jti, NOW + timedelta(minutes=5))
        auth_session = repository.get(already)
        assert auth_session is not None
        repository.end(auth_session, EARLIER)
        session.commit()
    with database.session() as session:
        denied = SqlAlchemySessionRepository(session).end_all_of_user(alice, NOW)
        assert sorted(token.jti for token in denied) == ["j1", "j2"]
        session.commit()
    with database.session() as session:
        assert (ended(session, first), ended(session, second)) == (NOW, NOW)
        assert ended(session, already) == EARLIER
        assert ended(session, bobs) is None
        assert SqlAlchemySessionRepository(session).end_all_of_user(999_999, NOW) == []


def test_active_of_user_leaves_out_ended_expired_and_other_users(database: Database) -> None:
    with database.session() as session:
        repository = SqlAlchemySessionRepository(session)
        alice, bob = add_user(session, "alice"), add_user(session, "bob")
        first = add_session(repository, alice)
        add_session(repository, alice, expires_at=NOW)
        closed = add_session(repository, alice)
        last = add_session(repository, alice, expires_at=NOW + timedelta(seconds=1))
        add_session(repository, bob)
        auth_session = repository.get(closed)
        assert auth_session is not None
        repository.end(auth_session, NOW)
        session.commit()
    with database.session() as session:
        active = SqlAlchemySessionRepository(session).active_of_user(alice, NOW)
        assert [auth_session.id for auth_session in active] == [first, last]


def test_deleting_a_user_deletes_its_sessions_and_tokens(database: Database) -> None:
    with database.session() as session:
        repository = SqlAlchemySessionRepository(session)
        alice, bob = add_user(session, "alice"), add_user(session, "bob")
        for user_id, name in [(alice, "a"), (bob, "b")]:
            session_id = add_session(repository, user_id)
            add_refresh_token(repository, session_id, name * 64)
            repository.record_access_token(session_id, name, LATER)
        session.commit()
    with database.session() as session:
        users = SqlAlchemyUserRepository(session)
        user = users.get(alice)
        assert user is not None
        users.delete(user)
        session.commit()
    assert (count(database, AuthSession), count(database, RefreshToken)) == (1, 1)
    assert count(database, SessionAccessToken) == 1
    with database.session() as session:
        repository = SqlAlchemySessionRepository(session)
        assert repository.find_refresh_token("a" * 64) is None
        assert repository.find_refresh_token("b" * 64) is not None


def test_prune_expired_keeps_what_is_still_valid(database: Database) -> None:
    with database.session() as session:
        repository = SqlAlchemySessionRepository(session)
        user_id = add_user(session, "alice")
        stale = add_session(repository, user_id, expires_at=NOW)
        live = add_session(repository, user_id)
        add_refresh_token(repository, stale, "s" * 64, expires_at=NOW)
        add_refresh_token(repository, live, "l" * 64)
        repository.record_access_token(stale, "stale-jti", NOW + timedelta(minutes=5))
        repository.record_access_token(live, "old-jti", EARLIER)
        repository.record_access_token(live, "new-jti", NOW + timedelta(minutes=5))
        denylist = SqlAlchemyTokenDenylist(session, FixedClock(EARLIER - timedelta(seconds=1)))
        denylist.deny([DeniedToken("gone", EARLIER), DeniedToken("kept", LATER)])
        session.commit()
    with database.session() as session:
        assert SqlAlchemySessionRepository(session).prune_expired(NOW) is True
        session.commit()
    with database.session() as session:
        assert session.scalars(select(AuthSession.id)).all() == [live]
        assert session.scalars(select(RefreshToken.token_hash)).all() == ["l" * 64]
        assert session.scalars(select(SessionAccessToken.jti)).all() == ["new-jti"]
        assert session.scalars(select(RevokedAccessToken.jti)).all() == ["kept"]
