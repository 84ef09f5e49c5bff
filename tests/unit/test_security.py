"""Password hashing, the password policy and the Authorization header, each on its own."""

from __future__ import annotations

import pytest

from A_DatabasePackage.settings import Settings
from D_CustomExceptionPackage.errors import (
    InvalidTokenError,
    NotAuthenticatedError,
    PasswordTooShortError,
    WeakPasswordError,
)
from E_SecurityPackage.password_hashing import PasswordHasher
from E_SecurityPackage.password_policy import PasswordPolicy, load_common_passwords
from I_ControllerPackage.current_user import bearer_token_from_header
from tests.support import OTHER_STRONG_PASSWORD, STRONG_PASSWORD

GARBAGE_HASHES = [
    "",
    "garbage",
    "$argon2id$v=19$m=1024,t=1,p=1$c2FsdA",
    "$argon2id$v=19$m=abc,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
    "$2b$12$abcdefghijklmnopqrstuu5Jx2Y2b3c8Yb3YbYbYbYbYbYbYbYbY",
    "plain text password",
]


@pytest.fixture(scope="module")
def default_hasher() -> PasswordHasher:
    defaults = Settings.model_fields
    return PasswordHasher(
        defaults["ARGON2_MEMORY_KIB"].default,
        defaults["ARGON2_TIME_COST"].default,
        defaults["ARGON2_PARALLELISM"].default,
    )


@pytest.fixture(scope="module")
def fast_hasher() -> PasswordHasher:
    return PasswordHasher(1024, 1, 1)


def test_default_parameters_make_owasp_argon2id_hashes(default_hasher: PasswordHasher) -> None:
    hashed = default_hasher.hash(STRONG_PASSWORD)
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert STRONG_PASSWORD not in hashed
    assert default_hasher.verify(STRONG_PASSWORD, hashed) == (True, None)
    assert default_hasher.verify(OTHER_STRONG_PASSWORD, hashed) == (False, None)


def test_hashes_are_salted(fast_hasher: PasswordHasher) -> None:
    first, second = fast_hasher.hash(STRONG_PASSWORD), fast_hasher.hash(STRONG_PASSWORD)
    assert first != second
    assert fast_hasher.verify(STRONG_PASSWORD, first) == (True, None)
    assert fast_hasher.verify(STRONG_PASSWORD, second) == (True, None)


def test_verify_returns_a_replacement_when_parameters_differ(
    fast_hasher: PasswordHasher, default_hasher: PasswordHasher
) -> None:
    old_hash = fast_hasher.hash(STRONG_PASSWORD)
    matches, replacement = default_hasher.verify(STRONG_PASSWORD, old_hash)
    assert matches is True
    assert replacement is not None
    assert replacement.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert default_hasher.verify(STRONG_PASSWORD, replacement) == (True, None)
    # a wrong password never yields a replacement
    assert default_hasher.verify(OTHER_STRONG_PASSWORD, old_hash) == (False, None)


@pytest.mark.parametrize("stored", GARBAGE_HASHES)
def test_garbage_stored_hash_is_a_mismatch(fast_hasher: PasswordHasher, stored: str) -> None:
    assert fast_hasher.verify(STRONG_PASSWORD, stored) == (False, None)
    assert fast_hasher.verify(stored, stored) == (False, None)


def test_long_passwords_are_never_truncated(fast_hasher: PasswordHasher) -> None:
    password = "x" * 127 + "A"
    hashed = fast_hasher.hash(password)
    assert fast_hasher.verify(password, hashed) == (True, None)
    assert fast_hasher.verify("x" * 127 + "B", hashed) == (False, None)
    assert fast_hasher.verify("x" * 127, hashed) == (False, None)


def test_unicode_passwords(fast_hasher: PasswordHasher) -> None:
    password = "pässwörd-日本語-😀-ok"
    hashed = fast_hasher.hash(password)
    assert fast_hasher.verify(password, hashed) == (True, None)
    assert fast_hasher.verify("passwörd-日本語-😀-ok", hashed) == (False, None)


# --- password policy -------------------------------------------------------------------------


def test_common_password_list_is_large_and_covers_the_minimum_length() -> None:
    common = load_common_passwords()
    assert len(common) >= 10_000
    assert "1qaz2wsx3edc" in common
    assert "password" in common
    assert sum(1 for entry in common if len(entry) >= 12) >= 100
    assert not any(entry.startswith("# ") for entry in common)


@pytest.mark.parametrize("password", ["1qaz2wsx3edc", "1QAZ2WSX3EDC", "1Qaz2Wsx3Edc"])
def test_common_passwords_are_refused_ignoring_case(password: str) -> None:
    with pytest.raises(WeakPasswordError) as caught:
        PasswordPolicy(12).check(password, username="alice", email="alice@example.com")
    assert caught.value.code == "WEAK_PASSWORD"


def test_short_common_passwords_are_refused_at_a_lower_minimum() -> None:
    with pytest.raises(WeakPasswordError):
        PasswordPolicy(8).check("PASSWORD", username="alice", email="alice@example.com")


@pytest.mark.parametrize(
    "password",
    ["TheLongUsername", "thelongusername", "ALICE.LONG@EXAMPLE.COM", "alice.long@example.com"],
)
def test_password_equal_to_username_or_email_is_refused(password: str) -> None:
    with pytest.raises(WeakPasswordError):
        PasswordPolicy(12).check(
            password, username="TheLongUsername", email="alice.long@example.com"
        )


def test_minimum_length_is_counted_in_code_points() -> None:
    policy = PasswordPolicy(12)
    # 12 code points, 24 and 48 bytes in UTF-8: long enough
    policy.check("é" * 6 + "ö" * 6, username="alice", email="alice@example.com")
    policy.check("😀🙂" * 6, username="alice", email="alice@example.com")
    # 11 code points but 44 bytes: too short
    with pytest.raises(PasswordTooShortError) as caught:
        policy.check("😀🙂" * 5 + "😀", username="alice", email="alice@example.com")
    assert caught.value.code == "VALIDATION_ERROR"
    assert caught.value.as_error_list() == [
        {
            "loc": ["body", "password"],
            "msg": "String should have at least 12 characters",
            "type": "string_too_short",
        }
    ]


def test_length_boundary_and_field_name() -> None:
    policy = PasswordPolicy(12)
    policy.check("river-otter9", username="alice", email="alice@example.com")
    with pytest.raises(PasswordTooShortError) as caught:
        policy.check(
            "river-otter", username="alice", email="alice@example.com", field="new_password"
        )
    assert caught.value.as_error_list()[0]["loc"] == ["body", "new_password"]


def test_no_composition_rules() -> None:
    policy = PasswordPolicy(12)
    for password in ("all lower case words", "ALLUPPERCASEWORDS", "Ünïcödé ōnly tëxt"):
        policy.check(password, username="alice", email="alice@example.com")


def test_custom_list_is_used() -> None:
    policy = PasswordPolicy(8, common_passwords=frozenset({"letmeinplease"}))
    with pytest.raises(WeakPasswordError):
        policy.check("LetMeInPlease", username="alice", email="alice@example.com")
    policy.check("1qaz2wsx3edc", username="alice", email="alice@example.com")


# --- the Authorization header -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc.def.ghi", "abc.def.ghi"),
        ("BEARER abc.def.ghi", "abc.def.ghi"),
        ("BeArEr abc.def.ghi", "abc.def.ghi"),
        ("  Bearer   abc.def.ghi  ", "abc.def.ghi"),
    ],
)
def test_bearer_token_is_read_case_insensitively(header: str, token: str) -> None:
    assert bearer_token_from_header(header) == token


def test_missing_header_is_not_authenticated() -> None:
    with pytest.raises(NotAuthenticatedError) as caught:
        bearer_token_from_header(None)
    assert caught.value.code == "NOT_AUTHENTICATED"


@pytest.mark.parametrize(
    "header",
    ["", " ", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "Bearer a b", "abc.def.ghi"],
)
def test_unusable_header_is_an_invalid_token(header: str) -> None:
    with pytest.raises(InvalidTokenError) as caught:
        bearer_token_from_header(header)
    assert caught.value.code == "INVALID_TOKEN"
