"""The service's TokenService as the bench's bare apps build it: the same key, algorithm,
issuer, audience and lifetime as the service's own, from the same settings."""

from __future__ import annotations

from datetime import timedelta

from A_DatabasePackage.settings import Settings
from E_SecurityPackage.login_auth_jwt import TokenService


def token_service(settings: Settings) -> TokenService:
    return TokenService(
        secret_key=settings.secret_key(),
        algorithm=settings.JWT_ALGORITHM,
        issuer=settings.JWT_ISSUER,
        audience=settings.JWT_AUDIENCE,
        lifetime=timedelta(minutes=settings.ACCESS_TOKEN_EXPIRE_MINUTES),
    )
