"""What the services learn about a request besides its body: who is calling, from where."""

from __future__ import annotations

from dataclasses import dataclass

from C_SchemaPackage.response import UserOut
from E_SecurityPackage.login_auth_jwt import AccessTokenClaims


@dataclass(frozen=True)
class ClientInfo:
    """The caller's address and user agent, as recorded on a sign-in session."""

    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class CurrentAccess:
    """A verified access token and the active account it belongs to."""

    user: UserOut
    claims: AccessTokenClaims
