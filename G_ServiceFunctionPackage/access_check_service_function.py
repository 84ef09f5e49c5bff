"""The access-token check behind every signed-in request."""

from __future__ import annotations

import abc

from E_SecurityPackage.access_context import CurrentAccess


class AccessCheckServiceInterface(abc.ABC):
    @abc.abstractmethod
    def authenticate_access_token(self, token: str) -> CurrentAccess:
        """The active account behind a valid, not ended access token. Raises INVALID_TOKEN."""
