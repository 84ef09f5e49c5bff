"""The parts built once per application and kept on `app.state`: the security components
(hasher, policy, token service, clock, lifetimes), the login throttle, and the factory of
units of work (with the ended-token store Redis or the database provides)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import redis
from sqlalchemy.orm import Session

from A_DatabasePackage.database import Database
from A_DatabasePackage.settings import Settings
from B_EntityPackage.domain import Clock, SystemClock
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
from E_SecurityPackage.second_factor import SecretBox
from F_RepositoryPackage.token_denylist import (
    RedisTokenDenylist,
    SqlAlchemyTokenDenylist,
    TokenDenylist,
)
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork, SqlAlchemyUnitOfWork
from H_ServiceImplementationPackage.mfa_rules import SecondFactorCheck
from H_ServiceImplementationPackage.session_pruning import PruneSchedule
from H_ServiceImplementationPackage.signing_key_service_implementation import KeyPolicy
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
    second_factor: SecondFactorCheck
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
        second_factor=SecondFactorCheck(
            SecretBox(*settings.mfa_encryption_keys()), settings.MFA_ISSUER
        ),
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
        reset_request=settings.reset_request_rate_limits,
        verify_request=settings.verify_request_rate_limits,
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
