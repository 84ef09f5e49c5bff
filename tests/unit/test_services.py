"""AuthService on the in-memory unit of work: no database, real Argon2id, real JWTs."""

from __future__ import annotations

import pytest

from C_SchemaPackage.request import AdminUpdateRequest, RegisterRequest, UpdateSelfRequest
from C_SchemaPackage.response import UserOut
from D_CustomExceptionPackage.errors import (
    AccountDisabledError,
    CurrentPasswordRequiredError,
    EmailTakenError,
    InvalidCredentialsError,
    InvalidCurrentPasswordError,
    InvalidTokenError,
    NothingToChangeError,
    PasswordTooShortError,
    UsernameTakenError,
    WeakPasswordError,
)
from tests.fakes import CLIENT, CountingHasher, ServiceKit, service_kit
from tests.support import OTHER_STRONG_PASSWORD, STRONG_PASSWORD


@pytest.fixture
def kit() -> ServiceKit:
    return service_kit()


def registered(
    kit: ServiceKit, username: str = "alice", password: str = STRONG_PASSWORD
) -> UserOut:
    user = kit.auth.register(
        RegisterRequest(username=username, email=f"{username}@example.com", password=password)
    )
    kit.hasher.calls.clear()
    return user


def test_register_commits_once_and_stores_a_hash(kit: ServiceKit) -> None:
    user = kit.auth.register(
        RegisterRequest(
            username="Alice", email="Alice@EXAMPLE.com", password=STRONG_PASSWORD, full_name="A L"
        )
    )
    assert kit.uow.committed == 1
    assert kit.hasher.calls == ["hash"]
    assert (user.username, user.email, user.full_name) == ("Alice", "Alice@example.com", "A L")
    assert (user.role, user.is_active) == ("user", True)
    row = kit.users.stored(user.id)
    assert row["hashed_password"].startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert STRONG_PASSWORD not in row["hashed_password"]
    assert row["token_version"] == 0
    assert user.created_at == user.updated_at


def test_register_taken_username_and_email(kit: ServiceKit) -> None:
    registered(kit, "alice")
    with pytest.raises(UsernameTakenError):
        kit.auth.register(
            RegisterRequest(username="ALICE", email="other@example.com", password=STRONG_PASSWORD)
        )
    with pytest.raises(EmailTakenError):
        kit.auth.register(
            RegisterRequest(username="other", email="Alice@example.com", password=STRONG_PASSWORD)
        )
    assert kit.uow.committed == 1
    assert len(kit.users.rows) == 1


@pytest.mark.parametrize(
    ("password", "error"),
    [
        ("1qaz2wsx3edc", WeakPasswordError),
        ("1QAZ2WSX3EDC", WeakPasswordError),
        ("longusername1", WeakPasswordError),
        ("LongUserName1@example.com", WeakPasswordError),
        ("short pass", PasswordTooShortError),
    ],
)
def test_weak_password_is_refused_before_hashing_or_storing(
    kit: ServiceKit, password: str, error: type[Exception]
) -> None:
    request = RegisterRequest(
        username="LongUserName1", email="longusername1@example.com", password=password
    )
    with pytest.raises(error):
        kit.auth.register(request)
    assert kit.hasher.calls == []
    assert kit.uow.committed == 0
    assert kit.users.rows == {}


@pytest.mark.parametrize(
    "sign_in_name", ["alice", "ALICE", "alice@example.com", "Alice@Example.COM"]
)
def test_login_issues_a_token_for_username_or_email(kit: ServiceKit, sign_in_name: str) -> None:
    user = registered(kit)
    token = kit.auth.login(sign_in_name, STRONG_PASSWORD, CLIENT)
    assert token.token_type == "bearer"
    assert token.expires_in == 15 * 60
    assert token.refresh_expires_in == 7 * 24 * 60 * 60
    claims = kit.tokens.verify_access_token(token.access_token)
    assert (claims.user_id, claims.role, claims.token_version) == (user.id, "user", 0)
    [session] = kit.uow.sessions.stored_sessions_of(user.id)
    assert claims.session_id == session["id"]
    assert kit.hasher.calls == ["verify"]
    assert kit.check_token(token.access_token).user == user


def test_unknown_user_and_wrong_password_cost_one_hash_each(kit: ServiceKit) -> None:
    registered(kit)
    with pytest.raises(InvalidCredentialsError) as unknown:
        kit.auth.login("nobody", STRONG_PASSWORD, CLIENT)
    assert kit.hasher.calls == ["verify_unknown_user"]
    kit.hasher.calls.clear()
    with pytest.raises(InvalidCredentialsError) as wrong:
        kit.auth.login("alice", OTHER_STRONG_PASSWORD, CLIENT)
    assert kit.hasher.calls == ["verify"]
    assert unknown.value.detail == wrong.value.detail
    assert unknown.value.code == wrong.value.code == "INVALID_CREDENTIALS"
    assert kit.uow.committed == 3  # the registration, then each failure's audit row
    assert kit.uow.audit.kinds()[1:] == [
        ("login", "failure", None, "INVALID_CREDENTIALS"),
        ("login", "failure", 1, "INVALID_CREDENTIALS"),
    ]


def test_verify_credentials_has_the_same_rules(kit: ServiceKit) -> None:
    user = registered(kit)
    assert kit.auth.verify_credentials("ALICE@example.com", STRONG_PASSWORD) == user
    with pytest.raises(InvalidCredentialsError):
        kit.auth.verify_credentials("alice", OTHER_STRONG_PASSWORD)
    with pytest.raises(InvalidCredentialsError):
        kit.auth.verify_credentials("bob", STRONG_PASSWORD)


def test_disabled_account_is_revealed_only_to_the_right_password(kit: ServiceKit) -> None:
    user = registered(kit)
    kit.admin.update_user(user.id, AdminUpdateRequest(is_active=False))
    with pytest.raises(InvalidCredentialsError):
        kit.auth.login("alice", OTHER_STRONG_PASSWORD, CLIENT)
    with pytest.raises(AccountDisabledError):
        kit.auth.login("alice", STRONG_PASSWORD, CLIENT)
    with pytest.raises(AccountDisabledError):
        kit.auth.verify_credentials("alice", STRONG_PASSWORD)


def test_login_rehashes_when_parameters_changed() -> None:
    old = service_kit(CountingHasher(memory_kib=1024))
    user = registered(old)
    old_hash = old.users.stored(user.id)["hashed_password"]
    new = service_kit(CountingHasher(memory_kib=2048, time_cost=2), uow=old.uow)
    commits = new.uow.committed
    new.auth.login("alice", STRONG_PASSWORD, CLIENT)
    new_hash = new.users.stored(user.id)["hashed_password"]
    assert new_hash != old_hash
    assert new_hash.startswith("$argon2id$v=19$m=2048,t=2,p=1$")
    # one commit for the new hash, one for the session the sign-in opened
    assert new.uow.committed == commits + 2
    new.auth.login("alice", STRONG_PASSWORD, CLIENT)
    assert new.users.stored(user.id)["hashed_password"] == new_hash
    assert new.uow.committed == commits + 3
    assert len(new.uow.sessions.stored_sessions_of(user.id)) == 2


def test_login_with_same_parameters_does_not_write(kit: ServiceKit) -> None:
    user = registered(kit)
    before = kit.users.stored(user.id)
    kit.auth.login("alice", STRONG_PASSWORD, CLIENT)
    assert kit.users.stored(user.id) == before
    # the only commit after the registration is the session's
    assert kit.uow.committed == 2
    assert len(kit.uow.sessions.stored_sessions_of(user.id)) == 1


def test_token_rejected_after_token_version_bump(kit: ServiceKit) -> None:
    user = registered(kit)
    token = kit.auth.login("alice", STRONG_PASSWORD, CLIENT).access_token
    assert kit.check_token(token).user.id == user.id
    row = kit.users.rows[user.id]
    row["token_version"] += 1
    with pytest.raises(InvalidTokenError):
        kit.check_token(token)
    fresh = kit.auth.login("alice", STRONG_PASSWORD, CLIENT).access_token
    assert kit.check_token(fresh).user.id == user.id


def test_token_rejected_for_deleted_and_disabled_users(kit: ServiceKit) -> None:
    alice = registered(kit)
    bob = registered(kit, "bob")
    alice_token = kit.auth.login("alice", STRONG_PASSWORD, CLIENT).access_token
    bob_token = kit.auth.login("bob", STRONG_PASSWORD, CLIENT).access_token
    kit.auth.delete_self(alice.id, STRONG_PASSWORD)
    assert kit.uow.sessions.stored_sessions_of(alice.id) == []
    assert len(kit.uow.sessions.stored_sessions_of(bob.id)) == 1
    with pytest.raises(InvalidTokenError):
        kit.check_token(alice_token)
    kit.users.rows[bob.id]["is_active"] = False
    with pytest.raises(InvalidTokenError):
        kit.check_token(bob_token)
    with pytest.raises(InvalidTokenError):
        kit.check_token("not-a-token")


def test_update_self_needs_something_to_change(kit: ServiceKit) -> None:
    user = registered(kit)
    with pytest.raises(NothingToChangeError):
        kit.auth.update_self(user.id, UpdateSelfRequest())
    with pytest.raises(NothingToChangeError):
        kit.auth.update_self(user.id, UpdateSelfRequest(current_password=STRONG_PASSWORD))
    assert kit.uow.committed == 1


@pytest.mark.parametrize(
    "request_body",
    [
        UpdateSelfRequest(email="new@example.com"),
        UpdateSelfRequest(new_password=OTHER_STRONG_PASSWORD),
        UpdateSelfRequest(username="alice2", new_password=OTHER_STRONG_PASSWORD),
    ],
)
def test_update_self_requires_current_password(
    kit: ServiceKit, request_body: UpdateSelfRequest
) -> None:
    user = registered(kit)
    with pytest.raises(CurrentPasswordRequiredError):
        kit.auth.update_self(user.id, request_body)
    assert kit.hasher.calls == []
    assert kit.users.stored(user.id)["email"] == "alice@example.com"
    assert kit.uow.committed == 1


def test_update_self_wrong_current_password_changes_nothing(kit: ServiceKit) -> None:
    user = registered(kit)
    before = kit.users.stored(user.id)
    with pytest.raises(InvalidCurrentPasswordError):
        kit.auth.update_self(
            user.id,
            UpdateSelfRequest(email="new@example.com", current_password=OTHER_STRONG_PASSWORD),
        )
    assert kit.users.stored(user.id) == before
    assert kit.uow.committed == 2  # the registration, then the failure's audit row
    assert kit.uow.audit.kinds()[-1] == (
        "email_change",
        "failure",
        user.id,
        "INVALID_CURRENT_PASSWORD",
    )


def test_update_self_username_and_full_name_without_password(kit: ServiceKit) -> None:
    user = registered(kit)
    kit.clock.advance(minutes=5)
    updated = kit.auth.update_self(user.id, UpdateSelfRequest(username="Alice2", full_name="Al"))
    assert (updated.username, updated.full_name) == ("Alice2", "Al")
    assert updated.updated_at > user.updated_at
    assert updated.created_at == user.created_at
    assert kit.users.stored(user.id)["username"] == "Alice2"
    registered(kit, "bob")
    with pytest.raises(UsernameTakenError):
        kit.auth.update_self(user.id, UpdateSelfRequest(username="BOB"))
    assert kit.users.stored(user.id)["username"] == "Alice2"


def test_new_password_ends_earlier_tokens(kit: ServiceKit) -> None:
    user = registered(kit)
    token = kit.auth.login("alice", STRONG_PASSWORD, CLIENT).access_token
    kit.auth.update_self(
        user.id,
        UpdateSelfRequest(new_password=OTHER_STRONG_PASSWORD, current_password=STRONG_PASSWORD),
    )
    with pytest.raises(InvalidTokenError):
        kit.check_token(token)
    with pytest.raises(InvalidCredentialsError):
        kit.auth.login("alice", STRONG_PASSWORD, CLIENT)
    fresh = kit.auth.login("alice", OTHER_STRONG_PASSWORD, CLIENT).access_token
    assert kit.check_token(fresh).user.id == user.id


def test_new_password_goes_through_the_policy(kit: ServiceKit) -> None:
    user = registered(kit)
    with pytest.raises(WeakPasswordError):
        kit.auth.update_self(
            user.id,
            UpdateSelfRequest(new_password="1qaz2wsx3edc", current_password=STRONG_PASSWORD),
        )
    with pytest.raises(WeakPasswordError):
        kit.auth.update_self(
            user.id,
            UpdateSelfRequest(
                username="alicealice12",
                new_password="ALICEALICE12",
                current_password=STRONG_PASSWORD,
            ),
        )
    assert kit.uow.committed == 1


def test_delete_self(kit: ServiceKit) -> None:
    user = registered(kit)
    with pytest.raises(InvalidCurrentPasswordError):
        kit.auth.delete_self(user.id, OTHER_STRONG_PASSWORD)
    assert user.id in kit.users.rows
    kit.auth.delete_self(user.id, STRONG_PASSWORD)
    assert kit.users.rows == {}
    assert kit.uow.committed == 3  # registration, the refused attempt's audit row, deletion
    assert kit.uow.audit.kinds()[1:] == [
        ("account_delete", "failure", user.id, "INVALID_CURRENT_PASSWORD"),
        ("account_delete", "success", user.id, None),
    ]
    again = registered(kit)
    assert again.id != user.id
