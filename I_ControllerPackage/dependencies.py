"""The composition root: which implementation serves each interface.

Controllers depend on the providers below through `Depends`; a test swaps any part with
`app.dependency_overrides[provider] = ...`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from A_DatabasePackage.login_database_connection import get_db
from A_DatabasePackage.settings import Settings
from C_SchemaPackage.response import UserOut
from E_SecurityPackage.access_context import ClientInfo, CurrentAccess
from E_SecurityPackage.clock import Clock, SystemClock
from E_SecurityPackage.current_user import (
    admin_dependency,
    current_access_dependency,
    current_user_dependency,
)
from E_SecurityPackage.login_auth_jwt import TokenService
from E_SecurityPackage.password_hashing import PasswordHasher
from E_SecurityPackage.password_policy import PasswordPolicy
from E_SecurityPackage.token_denylist import RedisTokenDenylist, TokenDenylist
from F_RepositoryPackage.token_denylist_repository import SqlAlchemyTokenDenylist
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork, SqlAlchemyUnitOfWork
from G_ServiceFunctionPackage.login_service_function import AuthServiceInterface
from G_ServiceFunctionPackage.session_service_function import SessionServiceInterface
from G_ServiceFunctionPackage.user_admin_service_function import UserAdminServiceInterface
from H_ServiceImplementationPackage.login_service_implementation import AuthService
from H_ServiceImplementationPackage.session_service_implementation import SessionService
from H_ServiceImplementationPackage.user_admin_service_implementation import UserAdminService
from I_ControllerPackage.metrics import time_password_hash


@dataclass(frozen=True)
class SecurityComponents:
    """Built once per application: they hold keys, parameters and the password list."""

    clock: Clock
    hasher: PasswordHasher
    policy: PasswordPolicy
    tokens: TokenService
    refresh_lifetime: timedelta


def build_security_components(settings: Settings, clock: Clock | None = None) -> SecurityComponents:
    time_source = clock or SystemClock()
    return SecurityComponents(
        clock=time_source,
        hasher=PasswordHasher(
            settings.ARGON2_MEMORY_KIB,
            settings.ARGON2_TIME_COST,
            settings.ARGON2_PARALLELISM,
            timer=time_password_hash,
        ),
        policy=PasswordPolicy(settings.PASSWORD_MIN_LENGTH),
        tokens=TokenService(
            secret_key=settings.secret_key(),
            algorithm=settings.JWT_ALGORITHM,
            issuer=settings.JWT_ISSUER,
            audience=settings.JWT_AUDIENCE,
            lifetime=timedelta(minutes=settings.ACCESS_TOKEN_EXPIRE_MINUTES),
            clock=time_source,
        ),
        refresh_lifetime=timedelta(days=settings.REFRESH_TOKEN_EXPIRE_DAYS),
    )


def get_security(request: Request) -> SecurityComponents:
    components: SecurityComponents = request.app.state.security
    return components


def get_unit_of_work(session: Annotated[Session, Depends(get_db)]) -> AbstractUnitOfWork:
    return SqlAlchemyUnitOfWork(session=session)


def get_token_denylist(
    request: Request,
    session: Annotated[Session, Depends(get_db)],
    security: Annotated[SecurityComponents, Depends(get_security)],
) -> TokenDenylist:
    """Redis when REDIS_URL is set (shared by every worker and instance), else the database."""
    redis_client = request.app.state.redis
    if redis_client is not None:
        return RedisTokenDenylist(redis_client, security.clock)
    return SqlAlchemyTokenDenylist(session, security.clock)


def get_session_service(
    uow: Annotated[AbstractUnitOfWork, Depends(get_unit_of_work)],
    security: Annotated[SecurityComponents, Depends(get_security)],
    denylist: Annotated[TokenDenylist, Depends(get_token_denylist)],
) -> SessionServiceInterface:
    return SessionService(uow, security.tokens, denylist, security.clock, security.refresh_lifetime)


def get_auth_service(
    uow: Annotated[AbstractUnitOfWork, Depends(get_unit_of_work)],
    security: Annotated[SecurityComponents, Depends(get_security)],
    sessions: Annotated[SessionServiceInterface, Depends(get_session_service)],
) -> AuthServiceInterface:
    return AuthService(uow, security.hasher, security.policy, sessions, security.clock)


def get_user_admin_service(
    uow: Annotated[AbstractUnitOfWork, Depends(get_unit_of_work)],
    security: Annotated[SecurityComponents, Depends(get_security)],
) -> UserAdminServiceInterface:
    return UserAdminService(uow, security.hasher, security.policy, security.clock)


def get_client_info(request: Request) -> ClientInfo:
    return ClientInfo(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


get_current_access = current_access_dependency(get_session_service)
get_current_user = current_user_dependency(get_current_access)
get_current_admin = admin_dependency(get_current_user)

CurrentAccessDep = Annotated[CurrentAccess, Depends(get_current_access)]
CurrentUser = Annotated[UserOut, Depends(get_current_user)]
CurrentAdmin = Annotated[UserOut, Depends(get_current_admin)]
ClientInfoDep = Annotated[ClientInfo, Depends(get_client_info)]
AuthServiceDep = Annotated[AuthServiceInterface, Depends(get_auth_service)]
SessionServiceDep = Annotated[SessionServiceInterface, Depends(get_session_service)]
UserAdminServiceDep = Annotated[UserAdminServiceInterface, Depends(get_user_admin_service)]
