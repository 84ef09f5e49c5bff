"""Builds the FastAPI application: settings, database, security parts, middleware, routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from A_DatabasePackage.database import Database
from A_DatabasePackage.migrations_runner import migrate, startup_lock
from A_DatabasePackage.settings import Settings, get_settings
from B_EntityPackage.domain import Clock, SystemClock
from C_SchemaPackage.request import RegisterRequest
from D_CustomExceptionPackage.login_custom_exception_handling import register_exception_handlers
from E_SecurityPackage import login_throttle
from E_SecurityPackage.client_address import TrustedProxies
from F_RepositoryPackage.token_denylist import redis_client_from_url
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from H_ServiceImplementationPackage.user_admin_service_implementation import UserAdminService
from I_ControllerPackage import (
    account_routes,
    audit_routes,
    auth_routes,
    docs_routes,
    email_routes,
    health_routes,
    key_admin_routes,
    metrics_routes,
    mfa_routes,
    recovery_routes,
    session_routes,
    user_admin_routes,
    well_known_routes,
)
from I_ControllerPackage.app_components import (
    SecurityComponents,
    build_login_throttle,
    build_security_components,
    unit_of_work_factory,
)
from I_ControllerPackage.blocking import ThreadLane, run_blocking
from I_ControllerPackage.json_logging import configure_logging
from I_ControllerPackage.key_dependencies import signing_key_service
from I_ControllerPackage.mail_wiring import build_mail_parts
from I_ControllerPackage.observability_middleware import ObservabilityMiddleware
from I_ControllerPackage.request_guard import RequestGuardMiddleware
from I_ControllerPackage.security_headers import SecurityHeadersMiddleware

logger = logging.getLogger("auth_service")

# The routes that take a form besides JSON: the OAuth2 password flow, token introspection
# (RFC 7662), and the recovery and email verification pages.
FORM_PATHS = (
    "/login",
    well_known_routes.INTROSPECTION_PATH,
    "/password/forgot",
    "/password/reset",
    "/account/not-me",
    "/email/verify",
    "/email/verify/resend",
)

API_DESCRIPTION = """
Registration, sign-in and account management with Argon2id password hashes and JWT bearer
access tokens. In Swagger, press **Authorize**, enter a username (or email) and password, and
the protected routes are called with the token /login returns.
"""
# The order /docs shows the groups in.
OPENAPI_TAGS = [
    {"name": "health", "description": "Liveness, readiness and metrics for the operator."},
    {"name": "auth", "description": "Registration, sign-in and tokens."},
    {"name": "sessions", "description": "The signed-in account's sessions."},
    {"name": "mfa", "description": "Two-factor sign-in (TOTP) and recovery codes."},
    {"name": "account", "description": "The signed-in account itself."},
    {"name": "recovery", "description": "A forgotten password: a mailed link and code."},
    {"name": "email", "description": "Proving an email address: a mailed link and code."},
    {"name": "users", "description": "Accounts, for admins."},
    {"name": "audit", "description": "The audit trail, for admins."},
    {"name": "keys", "description": "Signing keys: JWKS, discovery, introspection, rotation."},
]


def bootstrap_admin_request(settings: Settings) -> RegisterRequest | None:
    password = settings.BOOTSTRAP_ADMIN_PASSWORD
    if not settings.bootstrap_admin_configured or password is None:
        return None
    return RegisterRequest(
        username=settings.BOOTSTRAP_ADMIN_USERNAME,
        email=settings.BOOTSTRAP_ADMIN_EMAIL,
        password=password.get_secret_value(),
    )


def prepare_database(
    settings: Settings,
    database: Database,
    security: SecurityComponents,
    new_unit_of_work: Callable[[], AbstractUnitOfWork],
) -> None:
    """Migrate (unless AUTO_MIGRATE=false), make the first signing key (ES256/RS256 kept in the
    database: one, however many workers start at once), and create the bootstrap admin if one
    is configured."""
    keys_in_database = security.key_policy.encryptor is not None
    if settings.AUTO_MIGRATE or keys_in_database:
        with startup_lock(database) as connection:
            if settings.AUTO_MIGRATE:
                migrate(connection)
            if keys_in_database:
                signing_key_service(security, new_unit_of_work()).ensure_signing_key()
    request = bootstrap_admin_request(settings)
    if request is None:
        return
    service = UserAdminService(
        new_unit_of_work(),
        security.hasher,
        security.policy,
        security.clock,
    )
    created = service.ensure_bootstrap_admin(request)
    if created is not None:
        logger.info("bootstrap admin created: id=%s", created.id)


class AuthServiceApp(FastAPI):
    """FastAPI with the security headers outside everything else, so that they are on every
    response, the 500 that Starlette's outermost error middleware writes included."""

    trusted_proxies: TrustedProxies = TrustedProxies()

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeadersMiddleware(super().build_middleware_stack(), self.trusted_proxies)


def create_app(
    settings: Settings | None = None,
    clock: Clock | None = None,
    *,
    rate_limit_key_prefix: str | None = None,
) -> FastAPI:
    """`rate_limit_key_prefix` sets apart the Redis keys of the rate limits (tests give each
    app its own); by default every worker and instance shares DEFAULT_KEY_PREFIX."""
    settings = settings or get_settings()
    configure_logging(settings.LOG_LEVEL)
    database = Database(settings.database_url, settings.DB_POOL_SIZE, settings.DB_MAX_OVERFLOW)
    time_source = clock or SystemClock()
    redis_client = redis_client_from_url(settings.REDIS_URL) if settings.REDIS_URL else None
    new_unit_of_work = unit_of_work_factory(database, redis_client, time_source)
    security = build_security_components(settings, time_source, new_unit_of_work)
    bootstrap_admin_request(settings)  # invalid BOOTSTRAP_ADMIN_* values stop start-up here
    if settings.APP_ENV == "production" and settings.MFA_ENCRYPTION_KEY is None:
        logger.warning(
            "MFA_ENCRYPTION_KEY is not set: TOTP secrets are encrypted under a key derived from "
            "SECRET_KEY, and a new SECRET_KEY would make them unreadable; set a key of its own"
        )

    @asynccontextmanager
    async def lifespan(running_app: FastAPI) -> AsyncIterator[None]:
        await run_blocking(
            prepare_database, settings, database, security, running_app.state.unit_of_work_factory
        )
        logger.info(
            "service started",
            extra={
                "database": database.url.get_backend_name(),
                "redis": settings.REDIS_URL is not None,
                "app_env": settings.APP_ENV,
            },
        )
        running_app.state.mail.dispatcher.start()
        yield
        logger.info("service stopping")
        running_app.state.mail.dispatcher.stop()
        database.dispose()
        if running_app.state.redis is not None:
            running_app.state.redis.close()

    app = AuthServiceApp(
        title="Auth service",
        version="1.0.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from local files by docs_routes (no CDN)
        redoc_url=None,
        swagger_ui_parameters={"persistAuthorization": False},
        openapi_tags=OPENAPI_TAGS,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.security = security
    app.state.redis = redis_client
    app.state.introspection_clients = settings.introspection_clients
    app.state.throttle = build_login_throttle(
        settings,
        security.clock,
        app.state.redis,
        rate_limit_key_prefix or login_throttle.DEFAULT_KEY_PREFIX,
    )
    # Twice the hashing slots: a call does its database work while another one hashes.
    app.state.hashing_lane = ThreadLane(2 * settings.hash_concurrency)
    app.state.unit_of_work_factory = new_unit_of_work
    app.state.mail = build_mail_parts(settings, security.clock, new_unit_of_work)
    app.state.recovery_tools = app.state.mail.recovery
    app.trusted_proxies = security.trusted_proxies

    register_exception_handlers(app)
    app.add_middleware(RequestGuardMiddleware, form_paths=FORM_PATHS)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Location", "Retry-After", "X-Request-ID"],
            max_age=600,
        )
    # Outermost of ours: every request gets its id, log line and metrics, refused ones too.
    app.add_middleware(ObservabilityMiddleware)

    # /users/me must stay ahead of the admins' /users/{user_id}.
    app.include_router(health_routes.router)
    app.include_router(auth_routes.router)
    app.include_router(mfa_routes.router)
    app.include_router(session_routes.router)
    app.include_router(account_routes.router)
    app.include_router(recovery_routes.router)
    app.include_router(email_routes.router)
    app.include_router(user_admin_routes.router)
    app.include_router(audit_routes.router)
    app.include_router(metrics_routes.router)
    app.include_router(well_known_routes.router)
    app.include_router(key_admin_routes.router)
    docs_routes.install_local_docs(app)
    return app
