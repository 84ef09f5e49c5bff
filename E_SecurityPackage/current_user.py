"""The current-user dependency: Bearer header -> verified token -> active account.

`OAuth2PasswordBearer(tokenUrl="login")` is declared so Swagger's Authorize button signs in
through /login; the header itself is read here so that a missing header (NOT_AUTHENTICATED)
and any other unusable value (INVALID_TOKEN) answer differently, and so the scheme name is
matched case-insensitively (RFC 7235).
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from C_SchemaPackage.response import UserOut
from D_CustomExceptionPackage.errors import ForbiddenError, InvalidTokenError, NotAuthenticatedError
from E_SecurityPackage.access_context import CurrentAccess
from G_ServiceFunctionPackage.access_check_service_function import AccessCheckServiceInterface

T = TypeVar("T")
Provider = Callable[..., Awaitable[T]]
"""A FastAPI dependency declared `async def` (it runs on the event loop, no thread hop)."""

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="login", auto_error=False)


def bearer_token_from_header(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header, or the error it deserves."""
    if authorization is None:
        raise NotAuthenticatedError()
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise InvalidTokenError()
    return token


def current_access_dependency(
    access_check_provider: Provider[AccessCheckServiceInterface],
) -> Provider[CurrentAccess]:
    """Build the dependency around whichever provider the application wires in."""

    async def get_current_access(
        request: Request,
        _documented_scheme: Annotated[str | None, Depends(oauth2_scheme)],
        access_check: Annotated[AccessCheckServiceInterface, Depends(access_check_provider)],
    ) -> CurrentAccess:
        token = bearer_token_from_header(request.headers.get("authorization"))
        access = await access_check.authenticate_access_token(token)
        request.state.user_id = access.user.id
        return access

    return get_current_access


def current_user_dependency(current_access: Provider[CurrentAccess]) -> Provider[UserOut]:
    async def get_current_user(
        access: Annotated[CurrentAccess, Depends(current_access)],
    ) -> UserOut:
        return access.user

    return get_current_user


def admin_dependency(current_user: Provider[UserOut]) -> Provider[UserOut]:
    async def get_current_admin(user: Annotated[UserOut, Depends(current_user)]) -> UserOut:
        if user.role != "admin":
            raise ForbiddenError("This action needs the admin role.")
        return user

    return get_current_admin
