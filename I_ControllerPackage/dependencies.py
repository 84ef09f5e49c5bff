"""The composition root: which implementation serves each interface, and the FastAPI
dependencies the routes use (`get_db`, the current user, the services).

Controllers depend on the providers below through `Depends`; a test swaps a service, the
database or the client details with `app.dependency_overrides[provider]`, and the parts built
once per application (hasher, tokens, throttle) on `app.state`. The providers only assemble
objects, so they are `async def` and run on the event loop; the services do the blocking work
when the routes call them through `run_blocking`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from A_DatabasePackage.database import Database
from B_EntityPackage.domain import ClientInfo
from C_SchemaPackage.response import UserOut
from E_SecurityPackage.access_context import CurrentAccess
from E_SecurityPackage.login_throttle import (
    LoginThrottle,
)
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from G_ServiceFunctionPackage.access_check_service_function import AccessCheckServiceInterface
from G_ServiceFunctionPackage.audit_service_function import AuditServiceInterface
from G_ServiceFunctionPackage.email_address_service_function import (
    EmailAddressServiceInterface,
)
from G_ServiceFunctionPackage.login_service_function import AuthServiceInterface
from G_ServiceFunctionPackage.mfa_service_function import MfaServiceInterface
from G_ServiceFunctionPackage.password_recovery_service_function import (
    PasswordRecoveryServiceInterface,
)
from G_ServiceFunctionPackage.session_service_function import SessionServiceInterface
from G_ServiceFunctionPackage.user_admin_service_function import UserAdminServiceInterface
from H_ServiceImplementationPackage.access_check_service_implementation import AccessCheckService
from H_ServiceImplementationPackage.audit_recorder import AuditRecorder
from H_ServiceImplementationPackage.audit_service_implementation import AuditService
from H_ServiceImplementationPackage.email_address_service_implementation import (
    EmailAddressService,
)
from H_ServiceImplementationPackage.login_service_implementation import AuthService
from H_ServiceImplementationPackage.mfa_service_implementation import MfaService
from H_ServiceImplementationPackage.password_recovery_service_implementation import (
    PasswordRecoveryService,
)
from H_ServiceImplementationPackage.password_recovery_tools import RecoveryTools
from H_ServiceImplementationPackage.session_service_implementation import SessionService
from H_ServiceImplementationPackage.user_admin_service_implementation import UserAdminService
from I_ControllerPackage.app_components import SecurityComponents
from I_ControllerPackage.blocking import ThreadLane
from I_ControllerPackage.current_user import (
    BearerAccessCheck,
    admin_dependency,
    current_user_dependency,
)


def _security(request: Request) -> SecurityComponents:
    components: SecurityComponents = request.app.state.security
    return components


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _new_unit_of_work(request: Request) -> AbstractUnitOfWork:
    new: Callable[[], AbstractUnitOfWork] = request.app.state.unit_of_work_factory
    return new()


async def get_db(request: Request) -> AbstractUnitOfWork:
    """The request's unit of work: each time a service enters it, it opens a session from
    the application's database; the service commits."""
    return _new_unit_of_work(request)


async def get_hashing_lane(request: Request) -> ThreadLane:
    """The worker threads of the calls that hash a password (I_ControllerPackage.blocking)."""
    lane: ThreadLane = request.app.state.hashing_lane
    return lane


async def get_client_info(request: Request) -> ClientInfo:
    """The client's address (X-Forwarded-For believed only from TRUSTED_PROXIES) and agent."""
    return ClientInfo(
        ip=_security(request).trusted_proxies.client_address_of(request.scope),
        user_agent=request.headers.get("user-agent"),
    )


UnitOfWorkDep = Annotated[AbstractUnitOfWork, Depends(get_db)]
HashingLaneDep = Annotated[ThreadLane, Depends(get_hashing_lane)]
ClientInfoDep = Annotated[ClientInfo, Depends(get_client_info)]


def session_service(
    request: Request, uow: AbstractUnitOfWork, audit: AuditRecorder
) -> SessionServiceInterface:
    security = _security(request)
    return SessionService(
        uow,
        security.tokens,
        security.clock,
        security.refresh_lifetime,
        audit=audit,
        prune_schedule=security.prune_schedule,
        max_lifetime=security.session_max_lifetime,
        max_sessions=security.max_sessions,
    )


async def get_session_service(
    request: Request, uow: UnitOfWorkDep, client: ClientInfoDep
) -> SessionServiceInterface:
    return session_service(request, uow, AuditRecorder(_security(request).clock, client))


async def get_auth_service(
    request: Request, uow: UnitOfWorkDep, client: ClientInfoDep
) -> AuthServiceInterface:
    security = _security(request)
    audit = AuditRecorder(security.clock, client)
    throttle: LoginThrottle = request.app.state.throttle
    return AuthService(
        uow,
        security.hasher,
        security.policy,
        session_service(request, uow, audit),
        security.clock,
        throttle=throttle,
        audit=audit,
        client=client,
        second_factor=security.second_factor,
        notices=request.app.state.recovery_tools,
        require_verified_email=request.app.state.settings.REQUIRE_VERIFIED_EMAIL,
    )


async def get_mfa_service(
    request: Request, uow: UnitOfWorkDep, client: ClientInfoDep
) -> MfaServiceInterface:
    security = _security(request)
    audit = AuditRecorder(security.clock, client)
    throttle: LoginThrottle = request.app.state.throttle
    return MfaService(
        uow,
        security.hasher,
        session_service(request, uow, audit),
        security.clock,
        security.second_factor,
        throttle=throttle,
        audit=audit,
        client=client,
        notices=request.app.state.recovery_tools,
    )


async def get_password_recovery_service(
    request: Request, uow: UnitOfWorkDep, client: ClientInfoDep
) -> PasswordRecoveryServiceInterface:
    security = _security(request)
    throttle: LoginThrottle = request.app.state.throttle
    tools: RecoveryTools = request.app.state.recovery_tools
    return PasswordRecoveryService(
        uow,
        security.hasher,
        security.policy,
        security.clock,
        throttle,
        AuditRecorder(security.clock, client),
        client,
        tools,
    )


async def get_email_address_service(
    request: Request, uow: UnitOfWorkDep, client: ClientInfoDep
) -> EmailAddressServiceInterface:
    security = _security(request)
    throttle: LoginThrottle = request.app.state.throttle
    tools: RecoveryTools = request.app.state.recovery_tools
    audit = AuditRecorder(security.clock, client)
    return EmailAddressService(uow, security.clock, throttle, audit, client, tools)


def access_check_of(request: Request) -> AccessCheckServiceInterface:
    """The access check of a request, on a unit of work of its own."""
    security = _security(request)
    return AccessCheckService(_new_unit_of_work(request), security.tokens, security.clock)


get_current_access = BearerAccessCheck(access_check_of)
get_current_user = current_user_dependency(get_current_access)
get_current_admin = admin_dependency(get_current_user)


async def get_user_admin_service(
    request: Request,
    uow: UnitOfWorkDep,
    actor: Annotated[UserOut, Depends(get_current_user)],
    client: ClientInfoDep,
) -> UserAdminServiceInterface:
    """Every admin route is signed in; the caller is recorded as the actor of its changes."""
    security = _security(request)
    audit = AuditRecorder(security.clock, client, actor_id=actor.id)
    return UserAdminService(uow, security.hasher, security.policy, security.clock, audit=audit)


async def get_audit_service(uow: UnitOfWorkDep) -> AuditServiceInterface:
    return AuditService(uow)


CurrentAccessDep = Annotated[CurrentAccess, Depends(get_current_access)]
CurrentUser = Annotated[UserOut, Depends(get_current_user)]
CurrentAdmin = Annotated[UserOut, Depends(get_current_admin)]
AuthServiceDep = Annotated[AuthServiceInterface, Depends(get_auth_service)]
MfaServiceDep = Annotated[MfaServiceInterface, Depends(get_mfa_service)]
SessionServiceDep = Annotated[SessionServiceInterface, Depends(get_session_service)]
UserAdminServiceDep = Annotated[UserAdminServiceInterface, Depends(get_user_admin_service)]
AuditServiceDep = Annotated[AuditServiceInterface, Depends(get_audit_service)]
EmailAddressServiceDep = Annotated[EmailAddressServiceInterface, Depends(get_email_address_service)]
RecoveryServiceDep = Annotated[
    PasswordRecoveryServiceInterface, Depends(get_password_recovery_service)
]
