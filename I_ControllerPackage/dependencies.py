"""The composition root: which implementation serves each interface, and the FastAPI
dependencies the routes use (`get_db`, the current user, the services).

Controllers depend on the providers below through `Depends`; a test swaps a service, the
database or the client details with `app.dependency_overrides[provider]`, and the parts built
once per application (hasher, tokens, throttle) on `app.state`. The providers only assemble
objects, so they are `async def` and run on the event loop; the services do the blocking work
when the routes call them through `run_blocking`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated

import redis
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from A_DatabasePackage.database import Database
from A_DatabasePackage.settings import Settings
from B_EntityPackage.domain import ClientInfo, Clock, SystemClock
from C_SchemaPackage.response import UserOut
from E_SecurityPackage.access_context import CurrentAccess
from E_SecurityPackage.client_address import TrustedProxies
from E_SecurityPackage.key_ring import KeyRing
from E_SecurityPackage.login_auth_jwt import TokenService
from E_SecurityPackage.login_throttle import (
    DEFAULT_KEY_PREFIX,
    DisabledLoginThrottle,
    LoginThrottle,
    ThrottleLimits,
    memory_login_throttle,
    redis_login_throttle,
)
from E_SecurityPackage.password_hashing import PasswordHasher
from E_SecurityPackage.password_policy import PasswordPolicy
from F_RepositoryPackage.token_denylist import (
    RedisTokenDenylist,
    SqlAlchemyTokenDenylist,
    TokenDenylist,
)
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork, SqlAlchemyUnitOfWork
from G_ServiceFunctionPackage.access_check_service_function import AccessCheckServiceInterface
from G_ServiceFunctionPackage.audit_service_function import AuditServiceInterface
from G_ServiceFunctionPackage.login_service_function import AuthServiceInterface
from G_ServiceFunctionPackage.session_service_function import SessionServiceInterface
from G_ServiceFunctionPackage.user_admin_service_function import UserAdminServiceInterface
from H_ServiceImplementationPackage.access_check_service_implementation import AccessCheckService
from H_ServiceImplementationPackage.audit_recorder import AuditRecorder
from H_ServiceImplementationPackage.audit_service_implementation import AuditService
from H_ServiceImplementationPackage.login_service_implementation import AuthService
from H_ServiceImplementationPackage.session_pruning import PruneSchedule
from H_ServiceImplementationPackage.session_service_implementation import SessionService
from H_ServiceImplementationPackage.signing_key_service_implementation import (
    KeyPolicy,
)
from H_ServiceImplementationPackage.user_admin_service_implementation import UserAdminService
from I_ControllerPackage.blocking import ThreadLane
from I_ControllerPackage.current_user import (
    BearerAccessCheck,
    admin_dependency,
    current_user_dependency,
)
from I_ControllerPackage.key_components import build_key_ring, key_policy
from I_ControllerPackage.metrics import time_password_hash


@dataclass(frozen=True)
class SecurityComponents:
    """Built once per application: they hold keys, parameters and the password list."""

    clock: Clock
    hasher: PasswordHasher
    policy: PasswordPolicy
    tokens: TokenService
    refresh_lifetime: timedelta
    session_max_lifetime: timedelta
    max_sessions: int
    key_policy: KeyPolicy
    trusted_proxies: TrustedProxies = field(default_factory=TrustedProxies)
    prune_schedule: PruneSchedule = field(default_factory=PruneSchedule)


def build_security_components(
    settings: Settings,
    clock: Clock | None = None,
    new_unit_of_work: Callable[[], AbstractUnitOfWork] | None = None,
) -> SecurityComponents:
    """`new_unit_of_work` reads the signing keys kept in the database (ES256, RS256 without a
    PEM file); without it such keys are unavailable (commands that issue no token)."""
    time_source = clock or SystemClock()
    policy = key_policy(settings)
    keys: KeyRing = build_key_ring(settings, time_source, policy, new_unit_of_work)
    return SecurityComponents(
        clock=time_source,
        hasher=PasswordHasher(
            settings.ARGON2_MEMORY_KIB,
            settings.ARGON2_TIME_COST,
            settings.ARGON2_PARALLELISM,
            settings.hash_concurrency,
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
            keys=keys,
        ),
        refresh_lifetime=timedelta(days=settings.REFRESH_TOKEN_EXPIRE_DAYS),
        session_max_lifetime=timedelta(days=settings.SESSION_MAX_LIFETIME_DAYS),
        max_sessions=settings.MAX_SESSIONS_PER_USER,
        key_policy=policy,
        trusted_proxies=TrustedProxies(settings.trusted_proxy_networks),
    )


def build_login_throttle(
    settings: Settings,
    clock: Clock,
    redis_client: redis.Redis | None,
    key_prefix: str = DEFAULT_KEY_PREFIX,
) -> LoginThrottle:
    """Redis when REDIS_URL is set (every worker and instance counts together), else this
    process's memory; nothing at all with RATE_LIMIT_ENABLED=false."""
    if not settings.RATE_LIMIT_ENABLED:
        return DisabledLoginThrottle()
    limits = ThrottleLimits(
        window_seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS,
        max_failures=settings.LOGIN_MAX_FAILURES,
        max_failures_per_account=settings.LOGIN_MAX_FAILURES_PER_ACCOUNT,
        max_failures_per_address=settings.LOGIN_MAX_FAILURES_PER_ADDRESS,
        register=settings.register_rate_limits,
    )
    name_key_secret = hashlib.sha256(
        b"auth-service login throttle\0" + settings.secret_key().encode("utf-8")
    ).digest()
    if redis_client is not None and settings.REDIS_URL:
        return redis_login_throttle(
            redis_client, settings.REDIS_URL, limits, name_key_secret, key_prefix
        )
    return memory_login_throttle(limits, clock, name_key_secret)


def unit_of_work_factory(
    database: Database, redis_client: redis.Redis | None, clock: Clock
) -> Callable[[], AbstractUnitOfWork]:
    """Units of work on the application's database, whose ended-token store is Redis when
    REDIS_URL is set (shared by every worker and instance), else the database itself."""
    denylist: Callable[[Session], TokenDenylist]
    if redis_client is not None:
        redis_denylist = RedisTokenDenylist(redis_client, clock)
        denylist = lambda _session: redis_denylist  # noqa: E731
    else:
        denylist = lambda session: SqlAlchemyTokenDenylist(session, clock)  # noqa: E731
    return lambda: SqlAlchemyUnitOfWork(database.session_factory, denylist)


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
    )


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
SessionServiceDep = Annotated[SessionServiceInterface, Depends(get_session_service)]
UserAdminServiceDep = Annotated[UserAdminServiceInterface, Depends(get_user_admin_service)]
AuditServiceDep = Annotated[AuditServiceInterface, Depends(get_audit_service)]
