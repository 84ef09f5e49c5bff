"""A sign-in's read side (F_RepositoryPackage.sign_in_reader) on each database: the account by
username or email ignoring case, with its password hash, on a connection given back at once."""

from __future__ import annotations

from sqlalchemy import update

from A_DatabasePackage.login_database_connection import Database
from B_EntityPackage.login_entity_master import Role, User
from F_RepositoryPackage.sign_in_reader import SqlAlchemySignInReader
from tests.repository_support import NOW, make_user, seed
from tests.support import checked_out


def test_matches_username_or_email_ignoring_case(database: Database) -> None:
    alice_id, bob_id = seed(
        database, make_user("Alice", "alice.mail@Example.com"), make_user("bob", "b@example.com")
    )
    reader = SqlAlchemySignInReader(database.read_connection)
    for name in ("Alice", "alice", "ALICE", "alice.mail@example.com", "ALICE.MAIL@EXAMPLE.COM"):
        found = reader.find(name)
        assert found is not None, name
        assert found.account.id == alice_id
    found_bob = reader.find("B@EXAMPLE.COM")
    assert found_bob is not None
    assert found_bob.account.id == bob_id
    assert reader.find("carol") is None
    assert reader.find("carol@example.com") is None
    assert reader.find("alic") is None
    assert reader.find("%") is None  # a bound value, not a pattern
    # a username is not matched against someone's email, nor the other way round
    assert reader.find("alice.mail") is None
    assert reader.find("bob@") is None


def test_the_record_holds_the_account_and_its_hash(database: Database) -> None:
    admin = make_user("Root", "Root@Example.com", Role.ADMIN, is_active=False)
    [admin_id] = seed(database, admin)
    with database.session() as session:
        session.execute(
            update(User)
            .where(User.id == admin_id)
            .values(hashed_password="$argon2id$stored", token_version=3, full_name="Ro Ot")
        )
        session.commit()
    record = SqlAlchemySignInReader(database.read_connection).find("root")
    assert record is not None
    assert record.hashed_password == "$argon2id$stored"
    account = record.account
    assert (account.id, account.username, account.email, account.full_name) == (
        admin_id,
        "Root",
        "Root@Example.com",
        "Ro Ot",
    )
    assert (account.role, account.is_active, account.token_version) == ("admin", False, 3)
    assert account.created_at == NOW
    assert account.updated_at == NOW


def test_each_read_gives_its_connection_back(database: Database) -> None:
    seed(database, make_user("pooled"))
    reader = SqlAlchemySignInReader(database.read_connection)
    for name in ("pooled", "pooled@example.com", "nobody"):
        reader.find(name)
        assert checked_out(database) == 0
