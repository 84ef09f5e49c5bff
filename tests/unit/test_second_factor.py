"""The second factor's primitives: the key ring that encrypts TOTP secrets, the TOTP window,
and recovery codes."""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from E_SecurityPackage.second_factor import (
    RECOVERY_CODE_COUNT,
    SecretBox,
    SecretDecryptionError,
    hash_recovery_code,
    is_totp_code,
    matching_step,
    new_recovery_codes,
    new_totp_secret,
    time_step,
    totp_code,
)

OLD = "old-key-material-0123456789-abcdefghijkl"
NEW = "new-key-material-0123456789-abcdefghijkl"
MOMENT = datetime(2026, 12, 3, 12, 0, 10, tzinfo=UTC)


def test_a_secret_round_trips_and_the_ciphertext_hides_it() -> None:
    box = SecretBox(NEW)
    secret = new_totp_secret()
    sealed = box.encrypt(secret, "user:1")
    assert secret not in sealed.ciphertext
    assert box.decrypt(sealed, "user:1") == secret
    assert box.encrypt(secret, "user:1").ciphertext != sealed.ciphertext  # a fresh nonce


def test_a_ciphertext_is_bound_to_its_account_and_its_bytes() -> None:
    box = SecretBox(NEW)
    sealed = box.encrypt(new_totp_secret(), "user:1")
    with pytest.raises(SecretDecryptionError):
        box.decrypt(sealed, "user:2")
    raw = bytearray(base64.urlsafe_b64decode(sealed.ciphertext))
    raw[-1] ^= 1
    flipped = base64.urlsafe_b64encode(bytes(raw)).decode()
    with pytest.raises(SecretDecryptionError):
        box.decrypt(dataclasses.replace(sealed, ciphertext=flipped), "user:1")


def test_old_keys_decrypt_and_only_the_current_one_encrypts() -> None:
    sealed = SecretBox(OLD).encrypt("SECRET", "user:1")
    rotated = SecretBox(NEW, [OLD])
    assert rotated.decrypt(sealed, "user:1") == "SECRET"
    assert rotated.encrypt("SECRET", "user:1").key_id == rotated.current_key_id
    assert rotated.current_key_id != sealed.key_id
    with pytest.raises(SecretDecryptionError):
        SecretBox(NEW).decrypt(sealed, "user:1")


def test_the_key_id_names_the_key_without_revealing_it() -> None:
    assert SecretBox(NEW).current_key_id == SecretBox(NEW).current_key_id
    assert SecretBox(NEW).current_key_id != SecretBox(OLD).current_key_id
    assert SecretBox(NEW).current_key_id not in NEW


def test_codes_match_pyotp_and_one_step_of_drift_either_way() -> None:
    secret = new_totp_secret()
    assert totp_code(secret, time_step(MOMENT)) == pyotp.TOTP(secret).at(MOMENT)
    step = time_step(MOMENT)
    for drift in (-1, 0, 1):
        assert matching_step(secret, totp_code(secret, step + drift), MOMENT) == step + drift
    for drift in (-2, 2):
        assert matching_step(secret, totp_code(secret, step + drift), MOMENT) is None
    assert time_step(MOMENT + timedelta(seconds=20)) == step + 1


@pytest.mark.parametrize(
    ("code", "expected"), [("123456", True), ("12345", False), ("12345a", False), ("١٢٣٤٥٦", False)]
)
def test_only_six_ascii_digits_are_a_totp_code(code: str, expected: bool) -> None:
    assert is_totp_code(code) is expected


def test_recovery_codes_are_random_readable_and_typed_loosely() -> None:
    codes = new_recovery_codes()
    assert len(set(codes)) == RECOVERY_CODE_COUNT
    for code in codes:
        groups = code.split("-")
        assert [len(group) for group in groups] == [4, 4, 4, 4]
        assert not set(code) & set("IO01")
    code = codes[0]
    assert hash_recovery_code(code) == hash_recovery_code(code.lower().replace("-", " "))
    assert hash_recovery_code(code) != hash_recovery_code(codes[1])
    assert code not in hash_recovery_code(code)
