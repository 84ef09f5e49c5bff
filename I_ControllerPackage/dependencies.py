"""The composition root: which implementation serves each interface.

Controllers depend on the providers below through `Depends`; a test swaps a service, the
request's database session or the client details with `app.dependency_overrides[provider]`,
and the parts built once per application (hasher, tokens, throttle, readers) on `app.state`.

The providers are `async def` because they only assemble objects: FastAPI runs a plain `def`
dependency in a worker thread, and a thread hop per provider was most of the cost of a cheap
request such as GET /users/me (bench/RESULTS.md). Blocking work (database, Redis, Argon2)
happens in the service calls, which the routes run off the event loop.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated

import redis
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from A_DatabasePackage.login_database_connection import Database, get_db
from A_DatabasePackage.settings import Settings
from C_SchemaPackage.response import UserOut
from E_SecurityPackage.access_context import ClientInfo, CurrentAccess
from E_SecurityPackage.client_address import TrustedProxies
from E_SecurityPackage.clock import Clock, SystemClock
from E_SecurityPackage.current_user import (
    BearerAccessCheck,
    admin_dependency,
    current_user_dependency,
)
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
from E_SecurityPackage.token_denylist import RedisTokenDenylist, TokenDenylist
from F_RepositoryPackage.access_token_reader import (
    AccessTokenReader,
    PostgresAccessTokenReader,
    SqlAlchemyAccessTokenReader,
)
from F_RepositoryPackage.sign_in_reader import SignInReader, SqlAlchemySignInReader
from F_RepositoryPackage.token_denylist_repository import SqlAlchemyTokenDenylist
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
    trusted_proxies: TrustedProxies = field(default_factory=TrustedProxies)
    prune_schedule: PruneSchedule = field(default_factory=PruneSchedule)


def build_security_components(settings: Settings, clock: Clock | None = None) -> SecurityComponents:
    time_source = clock or SystemClock()
    return SecurityComponents(
        clock=time_source,
        hasher=PasswordHasher(
            settings.ARGON2_MEMORY_KIB,
            settings.ARGON2_TIME_COST,
            settings.ARGON2_PARALLELISM,
            settings.HASH_CONCURRENCY,
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


def _security(request: Request) -> SecurityComponents:
    components: SecurityComponents = request.app.state.security
    return components


async def get_client_info(request: Request) -> ClientInfo:
    """The client's address (X-Forwarded-For believed only from TRUSTED_PROXIES) and agent."""
    return ClientInfo(
        ip=_security(request).trusted_proxies.client_address(
            request.client.host if request.client else None,
            request.headers.getlist("x-forwarded-for"),
        ),
        user_agent=request.headers.get("user-agent"),
    )


SessionDep = Annotated[Session, Depends(get_db)]
ClientInfoDep = Annotated[ClientInfo, Depends(get_client_info)]


# A provider per service, not per part: FastAPI resolves every provider of a route anew for
# each request, and a sign-in that resolved 27 (unit of work, denylist, recorder, throttle...)
# spent about a third of its event-loop time on it (README "Performance"). The parts built
# once per application live on app.state; the functions below put a request's service
# together from them, the unit of work shared by every service of the request.


def token_denylist(request: Request, session: Session) -> TokenDenylist:
    """Redis when REDIS_URL is set (shared by every worker and instance), else the database."""
    redis_client = request.app.state.redis
    clock = _security(request).clock
    if redis_client is not None:
        return RedisTokenDenylist(redis_client, clock)
    return SqlAlchemyTokenDenylist(session, clock)


def session_service(
    request: Request, session: Session, uow: AbstractUnitOfWork, audit: AuditRecorder
) -> SessionServiceInterface:
    security = _security(request)
    return SessionService(
        uow,
        security.tokens,
        token_denylist(request, session),
        security.clock,
        security.refresh_lifetime,
        audit=audit,
        prune_schedule=security.prune_schedule,
    )


async def get_session_service(
    request: Request, session: SessionDep, client: ClientInfoDep
) -> SessionServiceInterface:
    audit = AuditRecorder(_security(request).clock, client)
    return session_service(request, session, SqlAlchemyUnitOfWork(session=session), audit)


def build_sign_in_reader(database: Database) -> SignInReader:
    """Built once per application, like the access-token check: a sign-in reads the account
    on a connection of its own, outside the request's unit of work."""
    return SqlAlchemySignInReader(database.read_connection)


async def get_auth_service(
    request: Request, session: SessionDep, client: ClientInfoDep
) -> AuthServiceInterface:
    security = _security(request)
    uow = SqlAlchemyUnitOfWork(session=session)
    audit = AuditRecorder(security.clock, client)
    throttle: LoginThrottle = request.app.state.throttle
    sign_in_reader: SignInReader = request.app.state.sign_in_reader
    return AuthService(
        uow,
        sign_in_reader,
        security.hasher,
        security.policy,
        session_service(request, session, uow, audit),
        security.clock,
        throttle=throttle,
        audit=audit,
        client=client,
    )


def build_access_check(
    database: Database,
    tokens: TokenService,
    clock: Clock,
    redis_client: redis.Redis | None,
) -> AccessCheckServiceInterface:
    """The access-token check, built once per application: it keeps no per-request state,
    and every signed-in request uses it, so it costs no dependency resolving, session or unit
    of work per request (bench/RESULTS.md). It reads on a connection of its own, which it
    gives back as soon as the check ends: on PostgreSQL from the event loop, on SQLite in a
    worker thread."""
    denylist = RedisTokenDenylist(redis_client, clock) if redis_client is not None else None
    return AccessCheckService(tokens, build_access_token_reader(database, clock, denylist))


def build_access_token_reader(
    database: Database, clock: Clock, denylist: TokenDenylist | None
) -> AccessTokenReader:
    """psycopg 3 on the event loop on PostgreSQL; SQLite's blocking driver in a thread."""
    if database.async_read_pool is None:
        return SqlAlchemyAccessTokenReader(database.read_connection, clock, denylist)
    return PostgresAccessTokenReader(database.async_read_pool, clock, denylist)


def access_check_of(request: Request) -> AccessCheckServiceInterface:
    service: AccessCheckServiceInterface = request.app.state.access_check
    return service


get_current_access = BearerAccessCheck(access_check_of)
get_current_user = current_user_dependency(get_current_access)
get_current_admin = admin_dependency(get_current_user)


async def get_user_admin_service(
    request: Request,
    session: SessionDep,
    actor: Annotated[UserOut, Depends(get_current_user)],
    client: ClientInfoDep,
) -> UserAdminServiceInterface:
    """Every admin route is signed in; the caller is recorded as the actor of its changes."""
    security = _security(request)
    audit = AuditRecorder(security.clock, client, actor_id=actor.id)
    return UserAdminService(
        SqlAlchemyUnitOfWork(session=session),
        security.hasher,
        security.policy,
        security.clock,
        audit=audit,
    )


async def get_audit_service(session: SessionDep) -> AuditServiceInterface:
    return AuditService(SqlAlchemyUnitOfWork(session=session))


CurrentAccessDep = Annotated[CurrentAccess, Depends(get_current_access)]
CurrentUser = Annotated[UserOut, Depends(get_current_user)]
CurrentAdmin = Annotated[UserOut, Depends(get_current_admin)]
AuthServiceDep = Annotated[AuthServiceInterface, Depends(get_auth_service)]
SessionServiceDep = Annotated[SessionServiceInterface, Depends(get_session_service)]
UserAdminServiceDep = Annotated[UserAdminServiceInterface, Depends(get_user_admin_service)]
AuditServiceDep = Annotated[AuditServiceInterface, Depends(get_audit_service)]
