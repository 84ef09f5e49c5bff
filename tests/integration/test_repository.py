"""SqlAlchemyUserRepository on its own, on SQLite and PostgreSQL (the `database` fixture)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from A_DatabasePackage.database import Database
from B_EntityPackage.domain import Role
from B_EntityPackage.login_entity_master import User
from D_CustomExceptionPackage.errors import EmailTakenError, UsernameTakenError
from F_RepositoryPackage.login_repository import SqlAlchemyUserRepository
from tests.repository_support import NOW, make_user, seed
from tests.support import checked_out, sql_unit_of_work


def stored_usernames(database: Database) -> list[str]:
    with database.session() as session:
        return list(session.scalars(select(User.username).order_by(User.id)).all())


def test_add_assigns_an_id_and_stores_the_fields(database: Database) -> None:
    with database.session() as session:
        repository = SqlAlchemyUserRepository(session)
        user = make_user("Alice", "Alice@Example.com")
        assert user.id is None
        added = repository.add(user)
        assert added is user
        assert isinstance(user.id, int)
        assert user.id >= 1
        session.commit()
        user_id = user.id
    with database.session() as session:
        loaded = SqlAlchemyUserRepository(session).get(user_id)
        assert loaded is not None
        assert (loaded.username, loaded.email, loaded.role) == (
            "Alice",
            "Alice@Example.com",
            "user",
        )
        assert loaded.created_at == NOW
        assert loaded.created_at.tzinfo is not None


def test_add_writes_at_once_and_a_rollback_takes_it_back(database: Database) -> None:
    """The new row is in the transaction when add returns, with its id; a rollback takes it
    back."""
    with database.session() as session:
        repository = SqlAlchemyUserRepository(session)
        user = repository.add(make_user("alice"))
        assert user.id is not None
        assert session.scalar(select(User.username).where(User.id == user.id)) == "alice"
        session.commit()
    with database.session() as session:
        SqlAlchemyUserRepository(session).add(make_user("bob"))
        session.rollback()
    assert stored_usernames(database) == ["alice"]


def test_add_fills_in_the_defaults_of_unset_fields(database: Database) -> None:
    """As the ORM's flush did: the returned entity carries what the database stored."""
    with database.session() as session:
        user = SqlAlchemyUserRepository(session).add(
            User(username="carol", email="carol@example.com", hashed_password="x")
        )
        session.commit()
    assert (user.role, user.is_active, user.token_version, user.full_name) == (
        "user",
        True,
        0,
        None,
    )
    assert user.created_at.tzinfo is not None
    with database.session() as session:
        loaded = SqlAlchemyUserRepository(session).get(user.id)
        assert loaded is not None
        assert (loaded.role, loaded.is_active, loaded.created_at) == (
            "user",
            True,
            user.created_at,
        )


def test_ids_increase(database: Database) -> None:
    first, second = seed(database, make_user("first"), make_user("second"))
    assert second > first


@pytest.mark.parametrize("username", ["alice", "ALICE", "aLiCe"])
def test_username_unique_ignoring_case_raises_domain_error(
    database: Database, username: str
) -> None:
    seed(database, make_user("Alice", "one@example.com"))
    with database.session() as session:
        repository = SqlAlchemyUserRepository(session)
        with pytest.raises(UsernameTakenError) as caught:
            repository.add(make_user(username, "two@example.com"))
        assert caught.value.code == "USERNAME_TAKEN"
    assert stored_usernames(database) == ["Alice"]


@pytest.mark.parametrize("email", ["one@example.com", "ONE@EXAMPLE.COM", "One@example.COM"])
def test_email_unique_ignoring_case_raises_domain_error(database: Database, email: str) -> None:
    seed(database, make_user("alice", "One@Example.com"))
    with database.session() as session:
        repository = SqlAlchemyUserRepository(session)
        with pytest.raises(EmailTakenError) as caught:
            repository.add(make_user("bob", email))
        assert caught.value.code == "EMAIL_TAKEN"
    assert stored_usernames(database) == ["alice"]


def test_save_raises_domain_error_on_taken_username_and_email(database: Database) -> None:
    alice_id, _ = seed(database, make_user("alice"), make_user("bob"))
    with database.session() as session:
        repository = SqlAlchemyUserRepository(session)
        alice = repository.get(alice_id)
        assert alice is not None
        alice.username = "BOB"
        with pytest.raises(UsernameTakenError):
            repository.save(alice)
    with database.session() as session:
        repository = SqlAlchemyUserRepository(session)
        alice = repository.get(alice_id)
        assert alice is not None
        alice.email = "Bob@Example.com"
        with pytest.raises(EmailTakenError):
            repository.save(alice)
    assert stored_usernames(database) == ["alice", "bob"]


def test_list_page_orders_by_id_with_offset_and_limit(database: Database) -> None:
    names = ["zed", "amy", "Mia", "bob", "kim"]
    ids = seed(database, *(make_user(name) for name in names))
    with database.session() as session:
        repository = SqlAlchemyUserRepository(session)
        assert [user.id for user in repository.list_page(0, 50)] == ids
        assert [user.username for user in repository.list_page(0, 2)] == ["zed", "amy"]
        assert [user.username for user in repository.list_page(2, 2)] == ["Mia", "bob"]
        assert [user.username for user in repository.list_page(4, 2)] == ["kim"]
        assert list(repository.list_page(5, 10)) == []
        assert repository.count() == 5


def test_count_of_an_empty_table_is_zero(database: Database) -> None:
    with database.session() as session:
        assert SqlAlchemyUserRepository(session).count() == 0


@pytest.mark.parametrize("lock", [False, True])
def test_active_admin_ids_only_lists_active_admins(database: Database, lock: bool) -> None:
    _, admin_id, _, other_admin_id = seed(
        database,
        make_user("user1"),
        make_user("admin1", role=Role.ADMIN),
        make_user("disabled_admin", role=Role.ADMIN, is_active=False),
        make_user("admin2", role=Role.ADMIN),
    )
    with database.session() as session:
        assert SqlAlchemyUserRepository(session).active_admin_ids(lock=lock) == [
            admin_id,
            other_admin_id,
        ]
        session.commit()


def test_delete_removes_the_user(database: Database) -> None:
    alice_id, bob_id = seed(database, make_user("alice"), make_user("bob"))
    with database.session() as session:
        repository = SqlAlchemyUserRepository(session)
        alice = repository.get(alice_id)
        assert alice is not None
        repository.delete(alice)
        assert repository.get(alice_id) is None
        session.commit()
    with database.session() as session:
        repository = SqlAlchemyUserRepository(session)
        assert repository.get(alice_id) is None
        assert repository.count() == 1
        assert repository.get(bob_id) is not None
    # the name and the email are free again
    seed(database, make_user("ALICE", "Alice@example.com"))
    assert stored_usernames(database) == ["bob", "ALICE"]


def test_repository_never_commits(database: Database) -> None:
    session = database.session()
    repository = SqlAlchemyUserRepository(session)
    user = repository.add(make_user("alice"))
    loaded = repository.get(user.id)
    assert loaded is not None
    assert loaded.username == "alice"
    assert repository.count() == 1
    session.close()
    with database.session() as fresh:
        assert SqlAlchemyUserRepository(fresh).count() == 0
        assert SqlAlchemyUserRepository(fresh).get(user.id) is None


def test_delete_without_commit_is_not_kept(database: Database) -> None:
    (alice_id,) = seed(database, make_user("alice"))
    session = database.session()
    repository = SqlAlchemyUserRepository(session)
    alice = repository.get(alice_id)
    assert alice is not None
    repository.delete(alice)
    session.close()
    assert stored_usernames(database) == ["alice"]


def test_unit_of_work_rolls_back_without_commit(database: Database) -> None:
    with sql_unit_of_work(database) as uow:
        uow.users.add(make_user("alice"))
    with sql_unit_of_work(database) as uow:
        uow.users.add(make_user("bob"))
        uow.commit()
    assert stored_usernames(database) == ["bob"]


def test_each_block_of_a_unit_of_work_is_a_new_session_closed_at_its_end(
    database: Database,
) -> None:
    uow = sql_unit_of_work(database)
    with uow:
        first = uow.session
        uow.users.add(make_user("alice"))
        uow.commit()
    with uow:
        assert uow.session is not first
        assert uow.users.credentials_for_sign_in("ALICE") is not None
    assert checked_out(database) == 0
