"""Token introspection (RFC 7662) for resource servers that must see an ended token at once."""

from __future__ import annotations

import abc

from C_SchemaPackage.key_schemas import IntrospectionOut


class IntrospectionServiceInterface(abc.ABC):
    @abc.abstractmethod
    def authenticate_client(self, client_id: str | None, client_secret: str | None) -> str:
        """The client id, when the secret is that client's. Raises INVALID_CLIENT."""

    @abc.abstractmethod
    def introspect(self, token: str) -> IntrospectionOut:
        """`active: true` and the claims for a live access token, else only `active: false`."""
