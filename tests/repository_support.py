"""Users as rows, for the repository and read-side tests: an account built without the service
(a fixed hash, fixed times) and seeded straight through the repository."""

from __future__ import annotations

from datetime import UTC, datetime

from A_DatabasePackage.database import Database
from B_EntityPackage.domain import Role
from B_EntityPackage.login_entity_master import User
from F_RepositoryPackage.login_repository import SqlAlchemyUserRepository

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def make_user(
    username: str,
    email: str | None = None,
    role: Role = Role.USER,
    is_active: bool = True,
) -> User:
    return User(
        username=username,
        email=email or f"{username}@example.com",
        full_name=None,
        hashed_password="$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
        role=role.value,
        is_active=is_active,
        token_version=0,
        created_at=NOW,
        updated_at=NOW,
    )


def seed(database: Database, *users: User) -> list[int]:
    with database.session() as session:
        repository = SqlAlchemyUserRepository(session)
        ids = [repository.add(user).id for user in users]
        session.commit()
    return ids
