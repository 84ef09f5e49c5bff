"""SessionService on the in-memory unit of work: token pairs, rotation, reuse, logout, ending."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from jose import jwt

from B_EntityPackage.domain import ClientInfo
from C_SchemaPackage.request import AdminUpdateRequest, UpdateSelfRequest
from C_SchemaPackage.response import TokenOut
from D_CustomExceptionPackage.errors import (
    InvalidRefreshTokenError,
    InvalidTokenError,
    RefreshTokenReusedError,
    SessionNotFoundError,
)
from E_SecurityPackage.access_context import CurrentAccess
from tests.fakes import CLIENT, REFRESH_LIFETIME, ServiceKit, registered, service_kit, signed_in
from tests.support import OTHER_STRONG_PASSWORD, STRONG_PASSWORD


@pytest.fixture
def kit() -> ServiceKit:
    return service_kit()


def access_of(kit: ServiceKit, pair: TokenOut) -> CurrentAccess:
    return kit.check_token(pair.access_token)


def session_id_of(pair: TokenOut) -> int:
    """The `sid` claim, read without verification (the token may have expired by now)."""
    session_id: int = jwt.get_unverified_claims(pair.access_token)["sid"]
    return session_id


def assert_ended(kit: ServiceKit, pair: TokenOut) -> None:
    """Neither token of this pair works any more."""
    with pytest.raises(InvalidTokenError):
        access_of(kit, pair)
    with pytest.raises(InvalidRefreshTokenError):
        kit.sessions.refresh(pair.refresh_token, CLIENT)


def test_start_returns_a_pair_and_records_the_session(kit: ServiceKit) -> None:
    user = registered(kit)
    started_at = kit.clock.now()
    pair = kit.sessions.start(user, 0, ClientInfo(ip="198.51.100.4", user_agent="x" * 300))
    assert (pair.token_type, pair.expires_in, pair.refresh_expires_in) == ("bearer", 900, 604800)
    assert len(pair.refresh_token) >= 43  # 256 random bits
    claims = kit.tokens.verify_access_token(pair.access_token)
    [row] = kit.uow.sessions.stored_sessions_of(user.id)
    assert claims.session_id == row["id"]
    assert (claims.user_id, claims.token_version) == (user.id, 0)
    assert (row["ip"], row["user_agent"], row["ended_at"]) == ("198.51.100.4", "x" * 255, None)
    assert row["created_at"] == row["last_used_at"]
    assert timedelta(0) <= row["created_at"] - started_at < timedelta(seconds=5)
    assert row["expires_at"] == row["created_at"] + REFRESH_LIFETIME
    [stored_token] = kit.uow.sessions.stored_refresh_tokens_of(row["id"])
    assert stored_token["token_hash"] == hashlib.sha256(pair.refresh_token.encode()).hexdigest()
    assert stored_token["spent_at"] is None
    assert pair.refresh_token not in repr(kit.uow.sessions.refresh_token_rows)
    assert claims.jti in kit.uow.sessions.access_token_rows
    assert access_of(kit, pair).user == user


def test_login_opens_a_new_session_each_time(kit: ServiceKit) -> None:
    user = registered(kit)
    first, second = signed_in(kit), signed_in(kit)
    assert session_id_of(first) != session_id_of(second)
    listed = kit.sessions.list_sessions(access_of(kit, second))
    assert [(s.id, s.current) for s in listed] == [
        (session_id_of(first), False),
        (session_id_of(second), True),
    ]
    assert {(s.ip, s.user_agent) for s in listed} == {(CLIENT.ip, CLIENT.user_agent)}
    assert len(kit.uow.sessions.stored_sessions_of(user.id)) == 2


def test_refresh_rotates_the_refresh_token(kit: ServiceKit) -> None:
    registered(kit)
    first = signed_in(kit)
    session_id = session_id_of(first)
    kit.clock.advance(minutes=10)
    second = kit.sessions.refresh(first.refresh_token, CLIENT)
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert session_id_of(second) == session_id
    old, new = kit.uow.sessions.stored_refresh_tokens_of(session_id)
    assert old["spent_at"] is not None
    assert new["spent_at"] is None
    assert new["token_hash"] == hashlib.sha256(second.refresh_token.encode()).hexdigest()
    [row] = kit.uow.sessions.stored_sessions_of(access_of(kit, second).user.id)
    assert row["last_used_at"] == old["spent_at"]
    assert row["expires_at"] == row["last_used_at"] + REFRESH_LIFETIME
    third = kit.sessions.refresh(second.refresh_token, CLIENT)
    assert session_id_of(third) == session_id
    assert access_of(kit, third).claims.session_id == session_id


def test_a_spent_refresh_token_ends_the_whole_session(kit: ServiceKit) -> None:
    registered(kit)
    other = signed_in(kit)
    first = signed_in(kit)
    second = kit.sessions.refresh(first.refresh_token, CLIENT)
    with pytest.raises(RefreshTokenReusedError):
        kit.sessions.refresh(first.refresh_token, CLIENT)
    for pair in (first, second):
        jti = kit.tokens.verify_access_token(pair.access_token).jti
        assert kit.denylist.is_denied(jti)
        with pytest.raises(InvalidTokenError):
            access_of(kit, pair)
    # the newest refresh token of that session is dead too
    with pytest.raises(InvalidRefreshTokenError):
        kit.sessions.refresh(second.refresh_token, CLIENT)
    ended = kit.uow.sessions.session_rows[session_id_of(first)]
    assert ended["ended_at"] is not None
    # the account's other session is untouched
    assert access_of(kit, other).claims.session_id == session_id_of(other)
    assert kit.sessions.refresh(other.refresh_token, CLIENT).refresh_token


def test_unknown_and_expired_refresh_tokens_are_invalid(kit: ServiceKit) -> None:
    registered(kit)
    with pytest.raises(InvalidRefreshTokenError):
        kit.sessions.refresh("not-a-refresh-token", CLIENT)
    pair = signed_in(kit)
    kit.clock.advance(days=7, seconds=-60)
    renewed = kit.sessions.refresh(pair.refresh_token, CLIENT)  # still within its lifetime
    kit.clock.advance(days=7, seconds=1)
    with pytest.raises(InvalidRefreshTokenError):
        kit.sessions.refresh(renewed.refresh_token, CLIENT)
    # an expired token was never spent, so it is not taken for a reused one
    [row] = kit.uow.sessions.session_rows.values()
    assert row["ended_at"] is None


def test_logout_ends_this_access_token_and_its_session(kit: ServiceKit) -> None:
    registered(kit)
    other = signed_in(kit)
    pair = signed_in(kit)
    kit.sessions.logout(access_of(kit, pair), None)
    assert_ended(kit, pair)
    assert kit.uow.sessions.session_rows[session_id_of(pair)]["ended_at"] is not None
    assert access_of(kit, other).user.username == "alice"
    assert kit.sessions.refresh(other.refresh_token, CLIENT).access_token


def test_logout_with_a_refresh_token_also_ends_that_session_if_it_is_ours(
    kit: ServiceKit,
) -> None:
    registered(kit)
    registered(kit, "bob")
    bobs = signed_in(kit, "bob")
    mine = signed_in(kit)
    current = signed_in(kit)
    kit.sessions.logout(access_of(kit, current), mine.refresh_token)
    assert_ended(kit, current)
    assert_ended(kit, mine)
    kit.sessions.logout(access_of(kit, signed_in(kit)), bobs.refresh_token)
    assert access_of(kit, bobs).user.username == "bob"
    assert kit.sessions.refresh(bobs.refresh_token, CLIENT).access_token


def test_logout_all_bumps_the_version_and_ends_every_session(kit: ServiceKit) -> None:
    user = registered(kit)
    registered(kit, "bob")
    bobs = signed_in(kit, "bob")
    pairs = [signed_in(kit) for _ in range(3)]
    kit.sessions.logout_all(user.id)
    assert kit.users.stored(user.id)["token_version"] == 1
    for pair in pairs:
        assert_ended(kit, pair)
    rows = kit.uow.sessions.stored_sessions_of(user.id)
    assert len(rows) == 3
    assert all(row["ended_at"] is not None for row in rows)
    fresh = signed_in(kit)
    assert [s.id for s in kit.sessions.list_sessions(access_of(kit, fresh))] == [
        session_id_of(fresh)
    ]
    assert access_of(kit, bobs).user.username == "bob"


def test_list_sessions_leaves_out_ended_and_expired_ones(kit: ServiceKit) -> None:
    registered(kit)
    old = signed_in(kit)
    kit.clock.advance(days=3)
    ended = signed_in(kit)
    kept = signed_in(kit)
    kit.sessions.end_session(access_of(kit, kept).user.id, session_id_of(ended))
    listed = kit.sessions.list_sessions(access_of(kit, kept))
    assert [(s.id, s.current) for s in listed] == [
        (session_id_of(old), False),
        (session_id_of(kept), True),
    ]
    kit.clock.advance(days=4, seconds=1)  # `old` is now past its 7 days, `kept` is not
    fresh = kit.sessions.refresh(kept.refresh_token, CLIENT)
    assert [s.id for s in kit.sessions.list_sessions(access_of(kit, fresh))] == [
        session_id_of(kept)
    ]


def test_end_session_of_our_own_session(kit: ServiceKit) -> None:
    user = registered(kit)
    doomed = signed_in(kit)
    current = signed_in(kit)
    kit.sessions.end_session(user.id, session_id_of(doomed))
    assert_ended(kit, doomed)
    assert access_of(kit, current).user == user
    with pytest.raises(SessionNotFoundError):
        kit.sessions.end_session(user.id, session_id_of(doomed))


def test_end_session_of_another_user_or_an_unknown_one_is_not_found(kit: ServiceKit) -> None:
    alice = registered(kit)
    registered(kit, "bob")
    bobs = signed_in(kit, "bob")
    with pytest.raises(SessionNotFoundError):
        kit.sessions.end_session(alice.id, session_id_of(bobs))
    with pytest.raises(SessionNotFoundError):
        kit.sessions.end_session(alice.id, 999_999)
    assert access_of(kit, bobs).user.username == "bob"
    assert kit.sessions.refresh(bobs.refresh_token, CLIENT).access_token


def test_password_change_ends_every_session(kit: ServiceKit) -> None:
    user = registered(kit)
    pairs = [signed_in(kit), signed_in(kit)]
    kit.auth.update_self(
        user.id,
        UpdateSelfRequest(new_password=OTHER_STRONG_PASSWORD, current_password=STRONG_PASSWORD),
    )
    for pair in pairs:
        assert_ended(kit, pair)
    fresh = kit.auth.login("alice", OTHER_STRONG_PASSWORD, CLIENT)
    assert kit.sessions.refresh(fresh.refresh_token, CLIENT).access_token


def test_profile_changes_keep_sessions(kit: ServiceKit) -> None:
    user = registered(kit)
    pair = signed_in(kit)
    kit.auth.update_self(user.id, UpdateSelfRequest(full_name="Alice L"))
    kit.admin.update_user(user.id, AdminUpdateRequest(username="alice2", role="user"))
    assert kit.sessions.refresh(pair.refresh_token, CLIENT).access_token
    assert access_of(kit, pair).user.username == "alice2"


@pytest.mark.parametrize(
    "change", [AdminUpdateRequest(role="admin"), AdminUpdateRequest(is_active=False)]
)
def test_admin_role_change_or_disable_ends_every_session(
    kit: ServiceKit, change: AdminUpdateRequest
) -> None:
    user = registered(kit)
    pairs = [signed_in(kit), signed_in(kit)]
    kit.admin.update_user(user.id, change)
    for pair in pairs:
        assert_ended(kit, pair)
    assert all(row["ended_at"] is not None for row in kit.uow.sessions.stored_sessions_of(user.id))


def test_deleting_the_account_removes_its_sessions(kit: ServiceKit) -> None:
    user = registered(kit)
    pair = signed_in(kit)
    kit.auth.delete_self(user.id, STRONG_PASSWORD)
    assert kit.uow.sessions.stored_sessions_of(user.id) == []
    assert kit.uow.sessions.refresh_token_rows == {}
    assert_ended(kit, pair)


def test_a_sign_in_prunes_expired_sessions(kit: ServiceKit) -> None:
    user = registered(kit)
    expired = signed_in(kit)
    kit.clock.advance(days=7, seconds=1)
    current = signed_in(kit)
    assert [row["id"] for row in kit.uow.sessions.stored_sessions_of(user.id)] == [
        session_id_of(current)
    ]
    assert kit.uow.sessions.stored_refresh_tokens_of(session_id_of(expired)) == []
