"""Data access for the second factor. Every use of a code or an mfa token is one conditional
UPDATE (the row's lock on PostgreSQL, the write lock on SQLite), so of two concurrent requests
presenting the same code exactly one changes the row and succeeds."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from B_EntityPackage.mfa_entities import MfaChallenge, MfaRecoveryCode, MfaTotp


@dataclass(frozen=True)
class StoredTotp:
    user_id: int
    key_id: str
    secret_ciphertext: str
    enabled: bool


@dataclass(frozen=True)
class PendingSignIn:
    user_id: int
    token_version: int


class MfaRepository(abc.ABC):
    @abc.abstractmethod
    def totp_of(self, user_id: int) -> StoredTotp | None: ...

    @abc.abstractmethod
    def is_enabled(self, user_id: int) -> bool: ...

    @abc.abstractmethod
    def start_enrollment(
        self, user_id: int, key_id: str, secret_ciphertext: str, now: datetime
    ) -> None:
        """Store a pending (not yet enabled) secret, replacing a pending one."""

    @abc.abstractmethod
    def enable(self, user_id: int, step: int, now: datetime) -> bool:
        """Turn the pending secret on, its first code's step spent; False if none is pending."""

    @abc.abstractmethod
    def accept_step(self, user_id: int, step: int) -> bool:
        """Spend a time step: True only if it is later than the last one accepted."""

    @abc.abstractmethod
    def reencrypt(self, user_id: int, key_id: str, secret_ciphertext: str) -> None: ...

    @abc.abstractmethod
    def remove(self, user_id: int) -> bool:
        """Delete the secret, the recovery codes and pending sign-ins; whether TOTP was on."""

    @abc.abstractmethod
    def replace_recovery_codes(
        self, user_id: int, code_hashes: Sequence[str], now: datetime
    ) -> None:
        """The account's recovery codes become these, the old ones gone."""

    @abc.abstractmethod
    def use_recovery_code(self, user_id: int, code_hash: str, now: datetime) -> bool:
        """Spend an unused recovery code; False if it is unknown or spent."""

    @abc.abstractmethod
    def recovery_codes_remaining(self, user_id: int) -> int: ...

    @abc.abstractmethod
    def add_pending_sign_in(
        self, token_hash: str, user_id: int, token_version: int, now: datetime, expires_at: datetime
    ) -> None:
        """Store an mfa token (its hash); the account's spent or expired ones are deleted."""

    @abc.abstractmethod
    def pending_sign_in(self, token_hash: str, now: datetime) -> PendingSignIn | None:
        """The unspent, unexpired sign-in this mfa token belongs to."""

    @abc.abstractmethod
    def spend_pending_sign_in(self, token_hash: str, now: datetime) -> bool: ...


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


class SqlAlchemyMfaRepository(MfaRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def totp_of(self, user_id: int) -> StoredTotp | None:
        row = self.session.execute(
            select(
                MfaTotp.user_id, MfaTotp.key_id, MfaTotp.secret_ciphertext, MfaTotp.enabled_at
            ).where(MfaTotp.user_id == user_id)
        ).first()
        if row is None:
            return None
        return StoredTotp(row[0], row[1], row[2], row[3] is not None)

    def is_enabled(self, user_id: int) -> bool:
        statement = select(MfaTotp.user_id).where(
            MfaTotp.user_id == user_id, MfaTotp.enabled_at.is_not(None)
        )
        return self.session.execute(statement).first() is not None

    def start_enrollment(
        self, user_id: int, key_id: str, secret_ciphertext: str, now: datetime
    ) -> None:
        self.session.execute(
            delete(MfaTotp).where(MfaTotp.user_id == user_id, MfaTotp.enabled_at.is_(None))
        )
        values = {
            "user_id": user_id,
            "key_id": key_id,
            "secret_ciphertext": secret_ciphertext,
            "created_at": now,
        }
        self.session.execute(insert(MfaTotp), values)

    def enable(self, user_id: int, step: int, now: datetime) -> bool:
        statement = (
            update(MfaTotp)
            .where(MfaTotp.user_id == user_id, MfaTotp.enabled_at.is_(None))
            .values(enabled_at=now, last_used_step=step)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(self.session.execute(statement)) == 1

    def accept_step(self, user_id: int, step: int) -> bool:
        statement = (
            update(MfaTotp)
            .where(
                MfaTotp.user_id == user_id,
                MfaTotp.enabled_at.is_not(None),
                or_(MfaTotp.last_used_step.is_(None), MfaTotp.last_used_step < step),
            )
            .values(last_used_step=step)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(self.session.execute(statement)) == 1

    def reencrypt(self, user_id: int, key_id: str, secret_ciphertext: str) -> None:
        self.session.execute(
            update(MfaTotp)
            .where(MfaTotp.user_id == user_id)
            .values(key_id=key_id, secret_ciphertext=secret_ciphertext)
            .execution_options(synchronize_session=False)
        )

    def remove(self, user_id: int) -> bool:
        removed = self.session.execute(
            delete(MfaTotp).where(MfaTotp.user_id == user_id, MfaTotp.enabled_at.is_not(None))
        )
        self.session.execute(delete(MfaTotp).where(MfaTotp.user_id == user_id))
        self.session.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user_id))
        self.session.execute(delete(MfaChallenge).where(MfaChallenge.user_id == user_id))
        return _rowcount(removed) == 1

    def replace_recovery_codes(
        self, user_id: int, code_hashes: Sequence[str], now: datetime
    ) -> None:
        self.session.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user_id))
        self.session.execute(
            insert(MfaRecoveryCode),
            [{"user_id": user_id, "code_hash": code, "created_at": now} for code in code_hashes],
        )

    def use_recovery_code(self, user_id: int, code_hash: str, now: datetime) -> bool:
        statement = (
            update(MfaRecoveryCode)
            .where(
                MfaRecoveryCode.user_id == user_id,
                MfaRecoveryCode.code_hash == code_hash,
                MfaRecoveryCode.used_at.is_(None),
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(self.session.execute(statement)) == 1

    def recovery_codes_remaining(self, user_id: int) -> int:
        statement = select(func.count()).where(
            MfaRecoveryCode.user_id == user_id, MfaRecoveryCode.used_at.is_(None)
        )
        return int(self.session.scalar(statement) or 0)

    def add_pending_sign_in(
        self, token_hash: str, user_id: int, token_version: int, now: datetime, expires_at: datetime
    ) -> None:
        self.session.execute(
            delete(MfaChallenge).where(
                MfaChallenge.user_id == user_id,
                or_(MfaChallenge.used_at.is_not(None), MfaChallenge.expires_at <= now),
            )
        )
        values = {
            "token_hash": token_hash,
            "user_id": user_id,
            "token_version": token_version,
            "created_at": now,
            "expires_at": expires_at,
        }
        self.session.execute(insert(MfaChallenge), values)

    def pending_sign_in(self, token_hash: str, now: datetime) -> PendingSignIn | None:
        row = self.session.execute(
            select(MfaChallenge.user_id, MfaChallenge.token_version).where(
                MfaChallenge.token_hash == token_hash,
                MfaChallenge.used_at.is_(None),
                MfaChallenge.expires_at > now,
            )
        ).first()
        return PendingSignIn(row[0], row[1]) if row is not None else None

    def spend_pending_sign_in(self, token_hash: str, now: datetime) -> bool:
        statement = (
            update(MfaChallenge)
            .where(
                MfaChallenge.token_hash == token_hash,
                MfaChallenge.used_at.is_(None),
                MfaChallenge.expires_at > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(self.session.execute(statement)) == 1
