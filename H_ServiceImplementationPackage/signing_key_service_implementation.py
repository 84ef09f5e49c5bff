"""Signing keys kept in the database, encrypted (E_SecurityPackage.jwk_keys.KeyEncryptor).

Rotation only writes times; which key signs follows from them (E_SecurityPackage.key_ring),
so every worker and instance switches at the same moment without being told. The stored
`state` and `retired_at` are brought in line whenever an admin lists, rotates or revokes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from B_EntityPackage.domain import AuditEventType, Clock
from B_EntityPackage.signing_key_entities import SigningKey
from C_SchemaPackage.key_schemas import RotationOut, SigningKeyOut
from D_CustomExceptionPackage.errors import KeysNotManagedError, SigningKeyNotFoundError
from E_SecurityPackage.jwk_keys import (
    KeyEncryptor,
    KeyMaterialError,
    generate_private_key,
    private_pem,
    public_jwk,
    thumbprint,
)
from E_SecurityPackage.key_ring import (
    KeySchedule,
    KeyState,
    KeyStatus,
    StoredKey,
    revoked_key_mark,
)
from F_RepositoryPackage.token_denylist import DeniedToken
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from G_ServiceFunctionPackage.signing_key_service_function import SigningKeyServiceInterface
from H_ServiceImplementationPackage.audit_recorder import AuditRecorder

logger = logging.getLogger("auth_service.keys")


@dataclass(frozen=True)
class KeyPolicy:
    """How keys are made and timed (I_ControllerPackage.key_components builds it).

    `encryptor` is None when the keys are not kept here: an HMAC algorithm, or a PEM file."""

    algorithm: str
    encryptor: KeyEncryptor | None
    publish_delay: timedelta
    retired_grace: timedelta


class SigningKeyService(SigningKeyServiceInterface):
    def __init__(
        self,
        uow: AbstractUnitOfWork,
        clock: Clock,
        policy: KeyPolicy,
        on_change: Callable[[], None] = lambda: None,
        audit: AuditRecorder | None = None,
    ) -> None:
        """`audit` records rotations and revocations (with the acting admin, if any)."""
        self.uow = uow
        self.clock = clock
        self.policy = policy
        self.on_change = on_change
        self.audit = audit or AuditRecorder(clock)

    def _encryptor(self) -> KeyEncryptor:
        if self.policy.encryptor is None:
            raise KeysNotManagedError()
        return self.policy.encryptor

    def _stored(self, row: SigningKey, encryptor: KeyEncryptor) -> StoredKey:
        try:
            pem: str | None = encryptor.decrypt(row.private_key_encrypted, row.kid)
        except KeyMaterialError as error:
            logger.error("%s", error)  # the message names the kid, never key material
            pem = None
        return StoredKey(
            kid=row.kid,
            algorithm=row.algorithm,
            public_jwk=json.loads(row.public_jwk),
            private_pem=pem,
            created_at=row.created_at,
            activates_at=row.activates_at,
            retired_at=row.retired_at,
            revoked_at=row.revoked_at,
        )

    def _schedule(self) -> KeySchedule:
        """The keys of the open unit of work, private parts left out."""
        keys = tuple(
            StoredKey(
                kid=row.kid,
                algorithm=row.algorithm,
                public_jwk=json.loads(row.public_jwk),
                private_pem=None,
                created_at=row.created_at,
                activates_at=row.activates_at,
                retired_at=row.retired_at,
                revoked_at=row.revoked_at,
            )
            for row in self.uow.signing_keys.all()
        )
        return KeySchedule(keys, self.policy.retired_grace)

    def stored_keys(self) -> tuple[StoredKey, ...]:
        if self.policy.encryptor is None:
            return ()
        encryptor = self.policy.encryptor
        with self.uow:
            return tuple(self._stored(row, encryptor) for row in self.uow.signing_keys.all())

    def _new_key(self, now: datetime, activates_at: datetime) -> SigningKey:
        private = generate_private_key(self.policy.algorithm)
        public = public_jwk(private)
        kid = thumbprint(public)
        row = SigningKey(
            kid=kid,
            algorithm=self.policy.algorithm,
            state=KeyState.ACTIVE.value if activates_at <= now else KeyState.STANDBY.value,
            public_jwk=json.dumps(public, sort_keys=True),
            private_key_encrypted=self._encryptor().encrypt(private_pem(private), kid),
            created_at=now,
            activates_at=activates_at,
        )
        self.uow.signing_keys.add(row)
        return row

    def _settled(self, now: datetime) -> dict[str, KeyStatus]:
        """Store the states the time gives; every key's status by kid."""
        statuses = {status.key.kid: status for status in self._schedule().statuses(now)}
        for row in self.uow.signing_keys.all():
            status = statuses[row.kid]
            if row.state != status.state.value:
                row.state = status.state.value
            if status.state is KeyState.RETIRED and row.retired_at is None:
                row.retired_at = status.retired_at
        return statuses

    def ensure_signing_key(self) -> SigningKeyOut | None:
        if self.policy.encryptor is None:
            return None
        now = self.clock.now()
        with self.uow:
            if self._schedule().signer(now) is not None:
                return None
            row = self._new_key(now, now)
            status = self._settled(now)[row.kid]
            self.uow.commit()
        logger.info("signing key created", extra={"kid": row.kid})
        self.on_change()
        return key_out(status)

    def list_keys(self) -> list[SigningKeyOut]:
        self._encryptor()
        with self.uow:
            statuses = self._settled(self.clock.now())
            self.uow.commit()
        ordered = sorted(statuses.values(), key=lambda s: (s.key.created_at, s.key.kid))
        return [key_out(status) for status in reversed(ordered)]

    def rotate(self, if_older_than: timedelta | None = None) -> RotationOut:
        self._encryptor()
        now = self.clock.now()
        with self.uow:
            statuses = self._settled(now)
            live = [s for s in statuses.values() if s.state in (KeyState.STANDBY, KeyState.ACTIVE)]
            newest = max((s.key.created_at for s in live), default=None)
            if if_older_than is not None and newest is not None and newest > now - if_older_than:
                self.uow.commit()
                return RotationOut(rotated=False, key=None)
            signing = any(s.state is KeyState.ACTIVE for s in live)
            row = self._new_key(now, now + self.policy.publish_delay if signing else now)
            status = self._settled(now)[row.kid]
            self.audit.add(self.uow, AuditEventType.KEY_ROTATE, None, detail=row.kid)
            self.uow.commit()
        logger.info("signing key rotated", extra={"kid": row.kid})
        self.on_change()
        return RotationOut(rotated=True, key=key_out(status))

    def revoke(self, kid: str) -> SigningKeyOut:
        self._encryptor()
        now = self.clock.now()
        with self.uow:
            row = self.uow.signing_keys.get(kid, lock=True)
            if row is None:
                raise SigningKeyNotFoundError()
            signer = self._schedule().signer(now)
            was_signing = signer is not None and signer.kid == kid
            if row.revoked_at is None:
                row.revoked_at = now
                mark = DeniedToken(revoked_key_mark(kid), now + self.policy.retired_grace)
                self.uow.denied_tokens.deny([mark])
            if was_signing:
                self._new_key(now, now)
            status = self._settled(now)[kid]
            self.audit.add(self.uow, AuditEventType.KEY_REVOKE, None, detail=kid)
            self.uow.commit()
        logger.warning("signing key revoked", extra={"kid": kid})
        self.on_change()
        return key_out(status)

    def verifies_now(self, kid: str | None) -> bool:
        if self.policy.encryptor is None:
            return True
        if kid is None:
            return False
        now = self.clock.now()
        with self.uow:
            return self._schedule().verifier(kid, now) is not None


def key_out(status: KeyStatus) -> SigningKeyOut:
    key = status.key
    return SigningKeyOut(
        kid=key.kid,
        algorithm=key.algorithm,
        state=status.state.value,
        created_at=key.created_at,
        activates_at=key.activates_at,
        retired_at=status.retired_at,
        revoked_at=key.revoked_at,
        verifies_until=status.verifies_until,
    )
