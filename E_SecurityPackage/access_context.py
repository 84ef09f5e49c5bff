"""What the services learn about a signed-in request: the verified token and its account."""

from __future__ import annotations

from dataclasses import dataclass

from C_SchemaPackage.response import UserOut
from E_SecurityPackage.login_auth_jwt import AccessTokenClaims


@dataclass(frozen=True)
class CurrentAccess:
    """A verified access token and the active account it belongs to."""

    user: UserOut
    claims: AccessTokenClaims
