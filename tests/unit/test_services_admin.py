"""UserAdminService (and the admin rules of AuthService) on the in-memory unit of work."""

from __future__ import annotations

import pytest

from C_SchemaPackage.request import AdminUpdateRequest, RegisterRequest
from C_SchemaPackage.response import UserOut
from D_CustomExceptionPackage.errors import (
    ForbiddenError,
    InvalidTokenError,
    LastAdminError,
    NothingToChangeError,
    UsernameTakenError,
    UserNotFoundError,
    WeakPasswordError,
)
from tests.fakes import CLIENT, FakeUnitOfWork, ServiceKit, service_kit
from tests.support import STRONG_PASSWORD


@pytest.fixture
def kit() -> ServiceKit:
    return service_kit()


def request_for(username: str, password: str = STRONG_PASSWORD) -> RegisterRequest:
    return RegisterRequest(username=username, email=f"{username}@example.com", password=password)


def user(kit: ServiceKit, username: str = "alice") -> UserOut:
    return kit.auth.register(request_for(username))


def admin(kit: ServiceKit, username: str = "root") -> UserOut:
    return kit.admin.create_admin(request_for(username))


def test_create_admin_applies_the_policy_and_sets_the_role(kit: ServiceKit) -> None:
    created = admin(kit)
    assert (created.role, created.is_active) == ("admin", True)
    assert kit.users.stored(created.id)["role"] == "admin"
    with pytest.raises(WeakPasswordError):
        kit.admin.create_admin(request_for("root2", "1qaz2wsx3edc"))
    with pytest.raises(UsernameTakenError):
        kit.admin.create_admin(request_for("ROOT"))
    assert list(kit.users.rows) == [created.id]


def test_get_user_rules(kit: ServiceKit) -> None:
    root = admin(kit)
    alice = user(kit, "alice")
    bob = user(kit, "bob")
    assert kit.admin.get_user(alice, alice.id) == alice
    with pytest.raises(ForbiddenError):
        kit.admin.get_user(alice, bob.id)
    with pytest.raises(ForbiddenError):
        kit.admin.get_user(alice, 999_999)
    assert kit.admin.get_user(root, bob.id) == bob
    with pytest.raises(UserNotFoundError):
        kit.admin.get_user(root, 999_999)


def test_list_users_pages_by_id(kit: ServiceKit) -> None:
    made = [user(kit, name) for name in ("zed", "amy", "kim")]
    page = kit.admin.list_users(1, 1)
    assert (page.total, page.offset, page.limit) == (3, 1, 1)
    assert page.items == [made[1]]
    assert kit.admin.list_users(0, 50).items == made
    assert kit.admin.list_users(3, 50).items == []


def test_update_user_refuses_to_demote_or_disable_the_last_active_admin(kit: ServiceKit) -> None:
    root = admin(kit)
    commits = kit.uow.committed
    with pytest.raises(LastAdminError):
        kit.admin.update_user(root.id, AdminUpdateRequest(role="user"))
    with pytest.raises(LastAdminError):
        kit.admin.update_user(root.id, AdminUpdateRequest(is_active=False))
    assert kit.uow.committed == commits
    stored = kit.users.stored(root.id)
    assert (stored["role"], stored["is_active"], stored["token_version"]) == ("admin", True, 0)
    # a disabled admin does not count as the other admin
    other = admin(kit, "root2")
    kit.admin.update_user(other.id, AdminUpdateRequest(is_active=False))
    with pytest.raises(LastAdminError):
        kit.admin.update_user(root.id, AdminUpdateRequest(role="user"))


def test_update_user_demotes_when_another_admin_exists_and_ends_tokens(kit: ServiceKit) -> None:
    root = admin(kit)
    admin(kit, "root2")
    token = kit.auth.login("root", STRONG_PASSWORD, CLIENT).access_token
    demoted = kit.admin.update_user(root.id, AdminUpdateRequest(role="user"))
    assert demoted.role == "user"
    assert kit.users.stored(root.id)["token_version"] == 1
    with pytest.raises(InvalidTokenError):
        kit.check_token(token)
    assert kit.auth.login("root", STRONG_PASSWORD, CLIENT).access_token


def test_update_user_profile_fields_keep_tokens(kit: ServiceKit) -> None:
    alice = user(kit)
    token = kit.auth.login("alice", STRONG_PASSWORD, CLIENT).access_token
    kit.clock.advance(seconds=30)
    updated = kit.admin.update_user(
        alice.id, AdminUpdateRequest(full_name="Alice L", email="alice2@example.com")
    )
    assert (updated.full_name, updated.email) == ("Alice L", "alice2@example.com")
    assert updated.updated_at > alice.updated_at
    assert kit.check_token(token).user.email == "alice2@example.com"
    # same role again is no role change
    kit.admin.update_user(alice.id, AdminUpdateRequest(role="user"))
    assert kit.users.stored(alice.id)["token_version"] == 0


def test_disable_ends_tokens(kit: ServiceKit) -> None:
    alice = user(kit)
    token = kit.auth.login("alice", STRONG_PASSWORD, CLIENT).access_token
    disabled = kit.admin.update_user(alice.id, AdminUpdateRequest(is_active=False))
    assert disabled.is_active is False
    with pytest.raises(InvalidTokenError):
        kit.check_token(token)


def test_update_user_errors(kit: ServiceKit) -> None:
    alice = user(kit)
    user(kit, "bob")
    with pytest.raises(UserNotFoundError):
        kit.admin.update_user(999, AdminUpdateRequest(full_name="x"))
    with pytest.raises(NothingToChangeError):
        kit.admin.update_user(alice.id, AdminUpdateRequest())
    with pytest.raises(UsernameTakenError):
        kit.admin.update_user(alice.id, AdminUpdateRequest(username="Bob"))
    assert kit.users.stored(alice.id)["username"] == "alice"


def test_delete_user(kit: ServiceKit) -> None:
    root = admin(kit)
    alice = user(kit)
    with pytest.raises(LastAdminError):
        kit.admin.delete_user(root.id)
    with pytest.raises(UserNotFoundError):
        kit.admin.delete_user(999)
    kit.admin.delete_user(alice.id)
    assert list(kit.users.rows) == [root.id]


def test_delete_self_refuses_the_last_active_admin(kit: ServiceKit) -> None:
    root = admin(kit)
    with pytest.raises(LastAdminError):
        kit.auth.delete_self(root.id, STRONG_PASSWORD)
    assert root.id in kit.users.rows
    assert kit.users.lock_requests == 1
    second = admin(kit, "root2")
    kit.auth.delete_self(root.id, STRONG_PASSWORD)
    assert list(kit.users.rows) == [second.id]


def test_ensure_bootstrap_admin_creates_once(kit: ServiceKit) -> None:
    created = kit.admin.ensure_bootstrap_admin(request_for("boot"))
    assert created is not None
    assert created.role == "admin"
    assert kit.uow.committed == 1
    assert kit.admin.ensure_bootstrap_admin(request_for("boot")) is None
    assert kit.admin.ensure_bootstrap_admin(request_for("another")) is None
    assert list(kit.users.rows) == [created.id]
    assert kit.uow.committed == 1
    assert kit.auth.login("boot", STRONG_PASSWORD, CLIENT).access_token


def test_ensure_bootstrap_admin_when_the_name_is_taken_by_a_user(kit: ServiceKit) -> None:
    alice = user(kit, "boot")
    assert kit.admin.ensure_bootstrap_admin(request_for("boot")) is None
    assert kit.users.stored(alice.id)["role"] == "user"
    assert len(kit.users.rows) == 1


def test_fake_unit_of_work_discards_uncommitted_changes() -> None:
    uow = FakeUnitOfWork()
    kit = service_kit(uow=uow)
    alice = user(kit)
    with uow:
        loaded = uow.users.get(alice.id)
        assert loaded is not None
        loaded.username = "changed"
    assert uow.users.stored(alice.id)["username"] == "alice"
    assert uow.committed == 1
