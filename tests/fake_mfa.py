"""The fake unit of work's second-factor repository: no account of the service unit tests has
a second factor (the MFA flows are tested on the real databases, tests/api/test_mfa_*.py), so
reads answer "none" and writes are refused loudly."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NoReturn

from F_RepositoryPackage.mfa_repository import MfaRepository, PendingSignIn, StoredTotp


def _unused(name: str) -> NoReturn:
    raise NotImplementedError(f"the fake MFA repository does not {name}")


class NoSecondFactorRepository(MfaRepository):
    def totp_of(self, user_id: int) -> StoredTotp | None:
        return None

    def is_enabled(self, user_id: int) -> bool:
        return False

    def start_enrollment(
        self, user_id: int, key_id: str, secret_ciphertext: str, now: datetime
    ) -> None:
        _unused("enroll")

    def enable(self, user_id: int, step: int, now: datetime) -> bool:
        _unused("enable")

    def accept_step(self, user_id: int, step: int) -> bool:
        return False

    def reencrypt(self, user_id: int, key_id: str, secret_ciphertext: str) -> None:
        _unused("re-encrypt")

    def remove(self, user_id: int) -> bool:
        return False

    def replace_recovery_codes(
        self, user_id: int, code_hashes: Sequence[str], now: datetime
    ) -> None:
        _unused("store recovery codes")

    def use_recovery_code(self, user_id: int, code_hash: str, now: datetime) -> bool:
        return False

    def recovery_codes_remaining(self, user_id: int) -> int:
        return 0

    def add_pending_sign_in(
        self, token_hash: str, user_id: int, token_version: int, now: datetime, expires_at: datetime
    ) -> None:
        _unused("start a two-step sign-in")

    def pending_sign_in(self, token_hash: str, now: datetime) -> PendingSignIn | None:
        return None

    def spend_pending_sign_in(self, token_hash: str, now: datetime) -> bool:
        return False
