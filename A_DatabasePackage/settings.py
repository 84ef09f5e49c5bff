"""Service configuration, read from the environment and `.env` with pydantic-settings.

Every key is named in ../shared/CONTRACT.md ("Configuration"); `.env.example` lists them all.
The settings live in the lowest package because the database URL is the first thing any
layer needs, and every other package may import from here without creating a cycle.
"""

from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

from A_DatabasePackage.abuse_settings import AbuseSettings
from A_DatabasePackage.mail_settings import MailSettings
from A_DatabasePackage.mfa_settings import MfaSettings, split_keys
from A_DatabasePackage.production_checks import (
    argon2_problem,
    encryption_key_problem,
    key_source_problem,
    process_local_limits_problem,
    secret_key_problem,
)
from A_DatabasePackage.secret_key_file import (
    MIN_SECRET_KEY_LENGTH,
    generated_secret_key_path,
    load_or_create_secret_key,
)
from A_DatabasePackage.token_settings import (
    parse_introspection_clients,
    private_key_file_problem,
)

DEFAULT_SQLITE_URL = "sqlite:///./auth.db"
MFA_KEY_FROM_SECRET_KEY_PREFIX = "mfa-key-derived-from-secret-key\0"  # noqa: S105 (a label)
# Where prometheus-client keeps every worker's metrics (I_ControllerPackage.metrics).
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def cgroup_cpu_limit(cpu_max: Path = CGROUP_CPU_MAX) -> int | None:
    """The CPUs a cgroup v2 quota allows (`200000 100000` is 2), rounded up; None without one."""
    try:
        quota, period = cpu_max.read_text(encoding="ascii").split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max" or not quota.isdigit() or not period.isdigit() or int(period) == 0:
        return None
    return max(1, math.ceil(int(quota) / int(period)))


def available_cores() -> int:
    """The CPU cores this process may run on: its affinity, and a container's CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    limit = cgroup_cpu_limit()
    return min(cores, limit) if limit is not None else cores


class Settings(BaseSettings, MailSettings, MfaSettings, AbuseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        # A rejected value (a too-short SECRET_KEY, a password) never reaches the error text.
        hide_input_in_errors=True,
    )

    APP_ENV: Literal["development", "test", "production"] = "development"

    DATABASE_URL: str | None = None
    DB_HOST: str | None = None
    DB_PORT: int = 5432
    DB_NAME: str | None = None
    DB_USER: str | None = None
    DB_PASSWORD: SecretStr | None = None
    DB_POOL_SIZE: int = Field(default=10, ge=1, le=1000)
    DB_MAX_OVERFLOW: int = Field(default=10, ge=0, le=1000)
    MAX_HEADER_BYTES: int = Field(default=16 * 1024, ge=4 * 1024, le=1024 * 1024)

    SECRET_KEY: SecretStr | None = None
    # HS256 stays the default (existing installs); ES256 is recommended for new ones.
    JWT_ALGORITHM: Literal["HS256", "HS384", "HS512", "ES256", "RS256"] = "HS256"
    JWT_PRIVATE_KEY_FILE: Path | None = None
    SIGNING_KEY_ENCRYPTION_KEY: SecretStr | None = None
    SIGNING_KEY_CACHE_SECONDS: int = Field(default=30, ge=1, le=300)
    JWKS_MAX_AGE_SECONDS: int = Field(default=600, ge=1, le=24 * 3600)
    PUBLIC_BASE_URL: str | None = None
    INTROSPECTION_CLIENTS: str = ""
    JWT_ISSUER: str = "auth-service"
    JWT_AUDIENCE: str = "auth-service"
    ACCESS_TOKEN_EXPIRE_MINUTES: int = Field(default=15, ge=1, le=24 * 60)
    REFRESH_TOKEN_EXPIRE_DAYS: int = Field(default=7, ge=1, le=365)
    SESSION_MAX_LIFETIME_DAYS: int = Field(default=30, ge=1, le=3650)
    MAX_SESSIONS_PER_USER: int = Field(default=50, ge=1, le=10_000)
    REDIS_URL: str | None = None

    PASSWORD_MIN_LENGTH: int = Field(default=12, ge=8, le=128)
    ARGON2_MEMORY_KIB: int = Field(default=19456, ge=8)
    ARGON2_TIME_COST: int = Field(default=2, ge=1)
    ARGON2_PARALLELISM: int = Field(default=1, ge=1)

    BOOTSTRAP_ADMIN_USERNAME: str | None = None
    BOOTSTRAP_ADMIN_EMAIL: str | None = None
    BOOTSTRAP_ADMIN_PASSWORD: SecretStr | None = None

    CORS_ORIGINS: str = ""
    AUTO_MIGRATE: bool = True

    METRICS_TOKEN: SecretStr | None = None
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    WEB_CONCURRENCY: int = Field(default_factory=lambda: available_cores(), ge=1, le=1024)
    HASH_CONCURRENCY: int | None = Field(default=None, ge=1, le=1024)

    @field_validator("SECRET_KEY")
    @classmethod
    def _secret_key_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters")
        return value

    @field_validator("SIGNING_KEY_ENCRYPTION_KEY")
    @classmethod
    def _encryption_key_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(
                f"SIGNING_KEY_ENCRYPTION_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters"
            )
        return value

    @field_validator("INTROSPECTION_CLIENTS")
    @classmethod
    def _introspection_clients_parse(cls, value: str) -> str:
        parse_introspection_clients(value)
        return value

    @field_validator("PUBLIC_BASE_URL")
    @classmethod
    def _public_base_url_is_http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("PUBLIC_BASE_URL must start with https:// (or http://)")
        return value.rstrip("/") if value is not None else None

    @field_validator("LOG_LEVEL", mode="before")
    @classmethod
    def _log_level_upper_case(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _production_is_safe(self) -> Settings:
        """APP_ENV=production refuses unsafe settings (A_DatabasePackage.production_checks)."""
        unused_file = private_key_file_problem(self.JWT_ALGORITHM, self.JWT_PRIVATE_KEY_FILE)
        if unused_file is not None:
            raise ValueError(unused_file)
        if self.APP_ENV != "production":
            return self
        if self.SECRET_KEY is None:
            raise ValueError("SECRET_KEY must be set when APP_ENV=production")
        problems = [
            secret_key_problem(self.SECRET_KEY.get_secret_value()),
            argon2_problem(self.ARGON2_MEMORY_KIB, self.ARGON2_TIME_COST),
            process_local_limits_problem(
                self.WEB_CONCURRENCY,
                self.REDIS_URL,
                self.RATE_LIMIT_ENABLED,
                self.ALLOW_PROCESS_LOCAL_LIMITS,
            ),
            key_source_problem(
                self.JWT_ALGORITHM,
                self.JWT_PRIVATE_KEY_FILE,
                self.SIGNING_KEY_ENCRYPTION_KEY is not None,
            ),
            encryption_key_problem(
                self.SIGNING_KEY_ENCRYPTION_KEY.get_secret_value()
                if self.SIGNING_KEY_ENCRYPTION_KEY is not None
                else None
            ),
        ]
        found = [problem for problem in problems if problem is not None]
        if found:
            raise ValueError("; ".join(found))
        return self

    @property
    def hash_concurrency(self) -> int:
        """Argon2 computations at once per worker: HASH_CONCURRENCY, or the cores shared out
        among the WEB_CONCURRENCY workers (at least one), so a machine runs about one per core."""
        if self.HASH_CONCURRENCY is not None:
            return self.HASH_CONCURRENCY
        return max(1, available_cores() // self.WEB_CONCURRENCY)

    @property
    def database_url(self) -> URL:
        """DATABASE_URL wins; else the DB_* parts when DB_HOST is set; else the SQLite file."""
        if self.DATABASE_URL:
            return make_url(self.DATABASE_URL)
        if self.DB_HOST:
            return URL.create(
                "postgresql+psycopg2",
                username=self.DB_USER,
                password=self.DB_PASSWORD.get_secret_value() if self.DB_PASSWORD else None,
                host=self.DB_HOST,
                port=self.DB_PORT,
                database=self.DB_NAME,
            )
        return make_url(DEFAULT_SQLITE_URL)

    @property
    def cors_origins(self) -> list[str]:
        return [origin.strip() for origin in self.CORS_ORIGINS.split(",") if origin.strip()]

    @property
    def introspection_clients(self) -> dict[str, str]:
        return parse_introspection_clients(self.INTROSPECTION_CLIENTS)

    def signing_key_encryption_key(self) -> str:
        """SIGNING_KEY_ENCRYPTION_KEY; outside production SECRET_KEY (or the generated one)
        stands in (production refuses to start without it, unless the key is a PEM file)."""
        if self.SIGNING_KEY_ENCRYPTION_KEY is not None:
            return self.SIGNING_KEY_ENCRYPTION_KEY.get_secret_value()
        return self.secret_key()

    @property
    def bootstrap_admin_configured(self) -> bool:
        return bool(
            self.BOOTSTRAP_ADMIN_USERNAME
            and self.BOOTSTRAP_ADMIN_EMAIL
            and self.BOOTSTRAP_ADMIN_PASSWORD
        )

    def secret_key(self) -> str:
        """The signing key: SECRET_KEY, or in development a generated one kept on disk."""
        if self.SECRET_KEY is not None:
            return self.SECRET_KEY.get_secret_value()
        return load_or_create_secret_key(generated_secret_key_path(self.database_url))

    def mfa_encryption_keys(self) -> tuple[str, tuple[str, ...]]:
        """The key that encrypts TOTP secrets and the older ones that still decrypt them.

        Without MFA_ENCRYPTION_KEY the key is derived from the signing key, under its own
        label; changing SECRET_KEY then makes the stored secrets unreadable, which is why
        production should keep the two apart (a warning at start-up says so)."""
        old = (
            split_keys(self.MFA_ENCRYPTION_OLD_KEYS.get_secret_value())
            if (self.MFA_ENCRYPTION_OLD_KEYS is not None)
            else ()
        )
        if self.MFA_ENCRYPTION_KEY is not None:
            return self.MFA_ENCRYPTION_KEY.get_secret_value(), old
        return MFA_KEY_FROM_SECRET_KEY_PREFIX + self.secret_key(), old


@lru_cache
def get_settings() -> Settings:
    return Settings()
