"""UserRepository.credentials_for_sign_in on each database: the account by username or email,
ignoring case as the unique indexes do, with its stored hash; the unit of work gives its
connection back when its block ends."""

from __future__ import annotations

from sqlalchemy import update

from A_DatabasePackage.database import Database
from B_EntityPackage.domain import Role
from B_EntityPackage.login_entity_master import User
from tests.repository_support import NOW, make_user, seed
from tests.support import checked_out, sql_unit_of_work


def found_id(database: Database, name: str) -> int | None:
    with sql_unit_of_work(database) as uow:
        found = uow.users.credentials_for_sign_in(name)
        return found.account.id if found is not None else None


def test_matches_username_or_email_ignoring_case(database: Database) -> None:
    alice_id, bob_id = seed(
        database, make_user("Alice", "alice.mail@Example.com"), make_user("bob", "b@example.com")
    )
    for name in ("Alice", "alice", "ALICE", "alice.mail@example.com", "ALICE.MAIL@EXAMPLE.COM"):
        assert found_id(database, name) == alice_id, name
    assert found_id(database, "B@EXAMPLE.COM") == bob_id
    for name in ("carol", "carol@example.com", "alic", "%", "alice.mail", "bob@"):
        # unknown; a bound value, not a pattern; a username is not matched against someone's
        # email, nor the other way round
        assert found_id(database, name) is None, name


def test_the_account_carries_its_hash_and_token_state(database: Database) -> None:
    admin = make_user("Root", "Root@Example.com", Role.ADMIN, is_active=False)
    [admin_id] = seed(database, admin)
    with database.session() as session:
        session.execute(
            update(User)
            .where(User.id == admin_id)
            .values(hashed_password="$argon2id$stored", token_version=3, full_name="Ro Ot")
        )
        session.commit()
    with sql_unit_of_work(database) as uow:
        found = uow.users.credentials_for_sign_in("root")
    assert found is not None
    assert found.hashed_password == "$argon2id$stored"
    account = found.account
    assert (account.id, account.username, account.email, account.full_name) == (
        admin_id,
        "Root",
        "Root@Example.com",
        "Ro Ot",
    )
    assert (account.role, account.is_active, account.token_version) == ("admin", False, 3)
    assert account.created_at == NOW
    assert account.updated_at == NOW


def test_each_lookup_gives_its_connection_back(database: Database) -> None:
    seed(database, make_user("pooled"))
    for name in ("pooled", "pooled@example.com", "nobody"):
        found_id(database, name)
        assert checked_out(database) == 0
