"""Data access for the signing keys; the service decides their times and commits."""

from __future__ import annotations

import abc
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from B_EntityPackage.signing_key_entities import SigningKey


class SigningKeyRepository(abc.ABC):
    @abc.abstractmethod
    def all(self) -> Sequence[SigningKey]:
        """Every key, oldest first."""

    @abc.abstractmethod
    def get(self, kid: str, lock: bool = False) -> SigningKey | None: ...

    @abc.abstractmethod
    def add(self, key: SigningKey) -> None: ...


class SqlAlchemySigningKeyRepository(SigningKeyRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def all(self) -> Sequence[SigningKey]:
        query = select(SigningKey).order_by(SigningKey.created_at, SigningKey.kid)
        return self.session.scalars(query).all()

    def get(self, kid: str, lock: bool = False) -> SigningKey | None:
        query = select(SigningKey).where(SigningKey.kid == kid)
        if lock:
            query = query.with_for_update()
        return self.session.scalars(query).first()

    def add(self, key: SigningKey) -> None:
        self.session.add(key)
        self.session.flush()
