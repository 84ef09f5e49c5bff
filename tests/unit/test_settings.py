"""Settings: the contract's defaults, the database URL rules, SECRET_KEY rules and the generated
development key."""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from A_DatabasePackage.secret_key_file import generated_secret_key_path, load_or_create_secret_key
from A_DatabasePackage.settings import Settings, get_settings
from I_ControllerPackage.app_factory import create_app

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ALL_KEYS = (*Settings.model_fields, "DATABASE_URL", "AUTO_MIGRATE")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No setting comes from the caller's environment, and relative paths land in tmp_path."""
    for key in ALL_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_defaults_match_the_contract() -> None:
    defaults = settings()
    assert defaults.APP_ENV == "development"
    assert defaults.DATABASE_URL is None
    assert defaults.database_url.render_as_string() == "sqlite:///./auth.db"
    assert (defaults.DB_HOST, defaults.DB_NAME, defaults.DB_USER, defaults.DB_PASSWORD) == (
        None,
        None,
        None,
        None,
    )
    assert defaults.DB_PORT == 5432
    assert defaults.SECRET_KEY is None
    assert (defaults.JWT_ALGORITHM, defaults.JWT_ISSUER, defaults.JWT_AUDIENCE) == (
        "HS256",
        "auth-service",
        "auth-service",
    )
    assert defaults.ACCESS_TOKEN_EXPIRE_MINUTES == 15
    assert defaults.PASSWORD_MIN_LENGTH == 12
    assert (defaults.ARGON2_MEMORY_KIB, defaults.ARGON2_TIME_COST, defaults.ARGON2_PARALLELISM) == (
        19456,
        2,
        1,
    )
    assert defaults.BOOTSTRAP_ADMIN_USERNAME is None
    assert defaults.BOOTSTRAP_ADMIN_EMAIL is None
    assert defaults.BOOTSTRAP_ADMIN_PASSWORD is None
    assert defaults.bootstrap_admin_configured is False
    assert defaults.CORS_ORIGINS == ""
    assert defaults.cors_origins == []
    assert defaults.AUTO_MIGRATE is True


def test_env_example_lists_every_key_and_gives_the_defaults() -> None:
    example = PROJECT_ROOT / ".env.example"
    listed = {
        line.split("=", 1)[0].strip()
        for line in example.read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    assert set(Settings.model_fields) <= listed
    from_example = Settings(_env_file=example)
    # The one value that is not the default: new installs are advised to sign with ES256.
    assert from_example.JWT_ALGORITHM == "ES256"
    assert settings().JWT_ALGORITHM == "HS256"
    assert from_example.model_dump(exclude={"JWT_ALGORITHM"}) == settings().model_dump(
        exclude={"JWT_ALGORITHM"}
    )


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESS_TOKEN_EXPIRE_MINUTES", "30")
    monkeypatch.setenv("JWT_ISSUER", "issuer-x")
    monkeypatch.setenv("AUTO_MIGRATE", "false")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example ,")
    monkeypatch.setenv("DATABASE_URL", "")  # empty means unset, as in .env.example
    read = settings()
    assert read.ACCESS_TOKEN_EXPIRE_MINUTES == 30
    assert read.JWT_ISSUER == "issuer-x"
    assert read.AUTO_MIGRATE is False
    assert read.cors_origins == ["https://a.example", "https://b.example"]
    assert read.database_url.render_as_string() == "sqlite:///./auth.db"


def test_database_url_wins_over_the_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://u:p@primary:5433/main")
    monkeypatch.setenv("DB_HOST", "ignored-host")
    monkeypatch.setenv("DB_NAME", "ignored")
    url = settings().database_url
    assert (url.host, url.port, url.database, url.username) == ("primary", 5433, "main", "u")


def test_parts_build_a_postgresql_url_when_db_host_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "DB_HOST": "db.internal",
        "DB_PORT": "6543",
        "DB_NAME": "auth",
        "DB_USER": "service",
        "DB_PASSWORD": "p@ss:w/rd#1",
    }.items():
        monkeypatch.setenv(key, value)
    url = settings().database_url
    assert url.get_backend_name() == "postgresql"
    assert url.drivername == "postgresql+psycopg2"
    assert (url.host, url.port, url.database, url.username) == (
        "db.internal",
        6543,
        "auth",
        "service",
    )
    assert url.password == "p@ss:w/rd#1"


def test_parts_without_db_host_mean_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_NAME", "auth")
    monkeypatch.setenv("DB_USER", "service")
    assert settings().database_url.render_as_string() == "sqlite:///./auth.db"


@pytest.mark.parametrize(
    "values",
    [
        {"SECRET_KEY": "x" * 31},
        {"APP_ENV": "production"},
        {"APP_ENV": "staging"},
        {"PASSWORD_MIN_LENGTH": 7},
        {"PASSWORD_MIN_LENGTH": 0},
        {"JWT_ALGORITHM": "none"},
        {"JWT_ALGORITHM": "EdDSA"},  # python-jose has no EdDSA (docs/security.md)
        {"JWT_ALGORITHM": "ES384"},
        {"JWT_ALGORITHM": "HS256", "JWT_PRIVATE_KEY_FILE": "key.pem"},
        {"SIGNING_KEY_ENCRYPTION_KEY": "x" * 31},
        {"INTROSPECTION_CLIENTS": "gateway:not-a-digest"},
        {"INTROSPECTION_CLIENTS": f"a:{'0' * 64},a:{'1' * 64}"},
        {"PUBLIC_BASE_URL": "auth.example.com"},
    ],
)
def test_invalid_settings_are_refused(values: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        settings(**values)


def test_boundaries_are_accepted() -> None:
    assert settings(SECRET_KEY="x" * 32).secret_key() == "x" * 32
    assert settings(PASSWORD_MIN_LENGTH=8).PASSWORD_MIN_LENGTH == 8
    key = secrets.token_urlsafe(32)  # 256 random bits, 43 characters
    mfa_key = secrets.token_urlsafe(32)
    production = settings(
        APP_ENV="production", SECRET_KEY=key, MFA_ENCRYPTION_KEY=mfa_key, WEB_CONCURRENCY=1
    )
    assert production.secret_key() == key
    assert production.mfa_encryption_keys() == (mfa_key, ())


def test_production_without_an_mfa_key_derives_one_from_the_secret_key() -> None:
    """An existing deployment upgrades without a new setting (a warning asks for one)."""
    key = secrets.token_urlsafe(32)
    production = settings(APP_ENV="production", SECRET_KEY=key, WEB_CONCURRENCY=1)
    derived, old = production.mfa_encryption_keys()
    assert old == ()
    assert key in derived
    assert derived != key


def test_mfa_keys_are_at_least_32_characters_and_old_ones_are_listed() -> None:
    with pytest.raises(ValidationError, match="MFA encryption key"):
        settings(MFA_ENCRYPTION_KEY="x" * 31)
    with pytest.raises(ValidationError, match="MFA encryption key"):
        settings(MFA_ENCRYPTION_OLD_KEYS=f"{'a' * 32}, short")
    chosen = settings(
        MFA_ENCRYPTION_KEY="n" * 32, MFA_ENCRYPTION_OLD_KEYS=f"{'a' * 32}, {'b' * 40}"
    )
    assert chosen.mfa_encryption_keys() == ("n" * 32, ("a" * 32, "b" * 40))


def test_without_an_mfa_key_development_derives_one_from_the_signing_key() -> None:
    current, old = settings(SECRET_KEY="s" * 32).mfa_encryption_keys()
    assert old == ()
    assert current != "s" * 32
    assert current.endswith("s" * 32)
    assert settings(SECRET_KEY="t" * 32).mfa_encryption_keys()[0] != current


@pytest.mark.parametrize(
    "environment",
    [{"APP_ENV": "production"}, {"SECRET_KEY": "too-short"}, {"PASSWORD_MIN_LENGTH": "7"}],
)
def test_create_app_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, environment: dict[str, str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'auth.db'}")
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError):
        create_app()
    assert not (tmp_path / "auth.db").exists()
    assert not (tmp_path / "auth.db.secret_key").exists()


def test_development_key_is_generated_once_beside_the_sqlite_file(tmp_path: Path) -> None:
    database = tmp_path / "data" / "auth.db"
    first = settings(DATABASE_URL=f"sqlite:///{database}")
    key = first.secret_key()
    key_file = tmp_path / "data" / "auth.db.secret_key"
    assert generated_secret_key_path(first.database_url) == key_file
    assert key_file.read_text(encoding="utf-8").strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key) >= 32
    assert first.secret_key() == key
    assert settings(DATABASE_URL=f"sqlite:///{database}").secret_key() == key
    other = settings(DATABASE_URL=f"sqlite:///{tmp_path / 'other.db'}").secret_key()
    assert other != key
    assert sorted(path.name for path in key_file.parent.iterdir()) == ["auth.db.secret_key"]


def test_default_database_keeps_its_key_in_the_working_directory(tmp_path: Path) -> None:
    key = settings().secret_key()
    assert (tmp_path / "auth.db.secret_key").read_text(encoding="utf-8").strip() == key
    postgres = settings(DATABASE_URL="postgresql+psycopg2://u@h/db")
    assert generated_secret_key_path(postgres.database_url) == Path("auth.secret_key")


def test_a_configured_key_writes_no_file(tmp_path: Path) -> None:
    configured = settings(DATABASE_URL=f"sqlite:///{tmp_path / 'auth.db'}", SECRET_KEY="s" * 32)
    assert configured.secret_key() == "s" * 32
    assert list(tmp_path.iterdir()) == []


def test_concurrent_creation_in_threads_yields_one_key(tmp_path: Path) -> None:
    path = tmp_path / "auth.db.secret_key"
    barrier = threading.Barrier(16)
    keys: list[str] = []
    lock = threading.Lock()

    def create() -> None:
        barrier.wait()
        key = load_or_create_secret_key(path)
        with lock:
            keys.append(key)

    threads = [threading.Thread(target=create) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(keys) == 16
    assert set(keys) == {path.read_text(encoding="utf-8").strip()}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [entry.name for entry in tmp_path.iterdir()] == [path.name]


def test_concurrent_creation_in_processes_yields_one_key(tmp_path: Path) -> None:
    path = tmp_path / "auth.db.secret_key"
    # each process imports, says it is ready, and waits for the go line on stdin
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from A_DatabasePackage.secret_key_file import load_or_create_secret_key\n"
        "print('ready', flush=True)\n"
        "sys.stdin.readline()\n"
        "print(load_or_create_secret_key(Path(sys.argv[1])), flush=True)\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(path)],
            cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        )
        for _ in range(4)
    ]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    outputs = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, outputs
    keys = {stdout.strip() for stdout, _ in outputs}
    assert keys == {path.read_text(encoding="utf-8").strip()}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [entry.name for entry in tmp_path.iterdir()] == [path.name]
