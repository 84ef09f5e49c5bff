"""The current-user dependency: Bearer header -> verified token -> active account.

`BearerAccessCheck` is an `OAuth2PasswordBearer(tokenUrl="login")`, so the OpenAPI document
declares the scheme and Swagger's Authorize button signs in through /login. Called as a
dependency it reads the header itself, so that a missing header (NOT_AUTHENTICATED) and any
other unusable value (INVALID_TOKEN) answer differently, and the scheme name is matched
case-insensitively (RFC 7235).
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from C_SchemaPackage.response import UserOut
from D_CustomExceptionPackage.errors import ForbiddenError, InvalidTokenError, NotAuthenticatedError
from E_SecurityPackage.access_context import CurrentAccess
from G_ServiceFunctionPackage.access_check_service_function import AccessCheckServiceInterface
from I_ControllerPackage.blocking import run_blocking

T = TypeVar("T")
Provider = Callable[..., Awaitable[T]]
"""A FastAPI dependency declared `async def`."""

AccessCheckOf = Callable[[Request], AccessCheckServiceInterface]
"""Builds the access check for a request (the composition root decides)."""

SCHEME_NAME = "OAuth2PasswordBearer"


def bearer_token_from_header(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header, or the error it deserves."""
    if authorization is None:
        raise NotAuthenticatedError()
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise InvalidTokenError()
    return token


class BearerAccessCheck(OAuth2PasswordBearer):
    """The Bearer scheme as documented in OpenAPI, and the check of the token it carries.

    Tests swap it like any dependency (`app.dependency_overrides[get_current_access]`), or
    the access check it is given through `access_check_of`.
    """

    def __init__(self, access_check_of: AccessCheckOf) -> None:
        super().__init__(tokenUrl="login", scheme_name=SCHEME_NAME, auto_error=False)
        self.access_check_of = access_check_of

    # The parent's call answers the bare token string; this one answers the checked access.
    async def __call__(self, request: Request) -> CurrentAccess:  # type: ignore[override]
        token = bearer_token_from_header(request.headers.get("authorization"))
        check = self.access_check_of(request)
        access = await run_blocking(check.authenticate_access_token, token)
        request.state.user_id = access.user.id
        return access


def current_user_dependency(current_access: BearerAccessCheck) -> Provider[UserOut]:
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
