"""RFC 7662 introspection: the same access check as every protected route (signature, claims,
the ended-token list, a live session, an active account), plus the key read fresh from the
database, so a revoked key or an ended token answers `active: false` at once."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from C_SchemaPackage.key_schemas import IntrospectionOut
from D_CustomExceptionPackage.errors import InvalidClientError, InvalidTokenError
from G_ServiceFunctionPackage.access_check_service_function import AccessCheckServiceInterface
from G_ServiceFunctionPackage.introspection_service_function import (
    IntrospectionServiceInterface,
)
from G_ServiceFunctionPackage.signing_key_service_function import SigningKeyServiceInterface

# Compared against when the client id is unknown, so both cases take the same time.
UNKNOWN_CLIENT_DIGEST = "0" * 64
INACTIVE = IntrospectionOut(active=False)


class IntrospectionService(IntrospectionServiceInterface):
    def __init__(
        self,
        access_check: AccessCheckServiceInterface,
        keys: SigningKeyServiceInterface,
        clients: Mapping[str, str],
        issuer: str,
        audience: str,
    ) -> None:
        self.access_check = access_check
        self.keys = keys
        self.clients = clients
        self.issuer = issuer
        self.audience = audience

    def authenticate_client(self, client_id: str | None, client_secret: str | None) -> str:
        expected = self.clients.get(client_id or "")
        presented = hashlib.sha256((client_secret or "").encode("utf-8")).hexdigest()
        matches = hmac.compare_digest(presented, expected or UNKNOWN_CLIENT_DIGEST)
        if client_id is None or client_secret is None or expected is None or not matches:
            raise InvalidClientError()
        return client_id

    def introspect(self, token: str) -> IntrospectionOut:
        try:
            access = self.access_check.authenticate_access_token(token)
        except InvalidTokenError:
            return INACTIVE
        claims = access.claims
        if not self.keys.verifies_now(claims.kid):
            return INACTIVE
        return IntrospectionOut(
            active=True,
            sub=str(access.user.id),
            username=access.user.username,
            role=claims.role,
            exp=int(claims.expires_at.timestamp()),
            iat=int(claims.issued_at.timestamp()) if claims.issued_at else None,
            iss=self.issuer,
            aud=self.audience,
            jti=claims.jti,
            sid=claims.session_id,
            token_type="Bearer",  # noqa: S106 (the RFC 6750 scheme name)
        )
