"""Fixtures: every database test runs on SQLite, on the real PostgreSQL, and on PostgreSQL with
the real Redis holding the ended access tokens; `@pytest.mark.backends(...)` on a test, class
or module names fewer of them.

PostgreSQL comes from TEST_DATABASE_URL (default: the local server, database `test`); the suite
creates its own throw-away database there, so parallel runs never share tables. Redis comes
from TEST_REDIS_URL (default: the local server, database 0; keys are random, nothing is
flushed). Under CI=true an unreachable PostgreSQL or Redis fails the run instead of skipping.

Rate limits stay on in tests (RATE_LIMIT_ENABLED defaults to true). Every test gets its own
Redis key prefix for them, so tests, and test runs sharing the local Redis, never count
against each other's windows.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from A_DatabasePackage.database import Database
from A_DatabasePackage.migrations_runner import upgrade_to_head
from A_DatabasePackage.settings import Settings
from B_EntityPackage.login_entity_master import Base
from E_SecurityPackage import login_throttle
from I_ControllerPackage.app_factory import create_app
from tests.live_server import free_port
from tests.private_postgres import PrivatePostgres, postgres_bindir, private_postgres
from tests.private_redis import PrivateRedis
from tests.support import FakeClock, in_ci, make_settings

DEFAULT_POSTGRES_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
BACKENDS = ("sqlite", "postgresql", "postgresql+redis")


def _uses_the_shared_backend(metafunc: pytest.Metafunc) -> bool:
    """Whether the test's `backend` is the one below, not a module's own override of it."""
    definitions = metafunc._arg2fixturedefs.get("backend", ())
    return bool(definitions) and definitions[-1].func.__module__ == __name__


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that uses `backend` (through `database_url`, `database`, `settings`, `app`,
    `client`...) runs once on each back end: all of BACKENDS, or those its closest
    `@pytest.mark.backends(...)` names, e.g. `backends("sqlite", "postgresql")` where Redis
    plays no part. The ids stay the back end's name: `test_x[sqlite]`."""
    if "backend" not in metafunc.fixturenames or not _uses_the_shared_backend(metafunc):
        return
    marker = metafunc.definition.get_closest_marker("backends")
    chosen = BACKENDS if marker is None else marker.args
    unknown = [name for name in chosen if name not in BACKENDS]
    if not chosen or unknown or (marker is not None and marker.kwargs):
        raise pytest.UsageError(
            f"{metafunc.definition.nodeid}: @pytest.mark.backends takes one or more of "
            f"{', '.join(BACKENDS)}, got {marker}"
        )
    metafunc.parametrize("backend", chosen, indirect=True)


def _postgres_admin_url() -> URL:
    return make_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES_URL))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    admin_url = _postgres_admin_url()
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"auth_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as error:
        engine.dispose()
        message = f"PostgreSQL is not reachable at {admin_url.render_as_string()}: {error}"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    yield url
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The local Redis; checked once per session."""
    url = os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL)
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        message = f"Redis is not reachable at {url}: {error}"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    finally:
        client.close()
    return url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'auth.db'}"


@pytest.fixture(autouse=True)
def private_rate_limit_keys(monkeypatch: pytest.MonkeyPatch) -> str:
    """The Redis key prefix of the rate limits of every app this test creates."""
    prefix = f"auth-test:{os.getpid()}:{secrets.token_hex(6)}"
    monkeypatch.setattr(login_throttle, "DEFAULT_KEY_PREFIX", prefix)
    return prefix


_migrated: set[str] = set()


def _migrated_and_empty(url: str) -> str:
    """Migrate once per session, then empty every table before each test."""
    database = Database(make_url(url))
    try:
        if url not in _migrated:
            upgrade_to_head(database)
            _migrated.add(url)
        with database.engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
            if database.is_sqlite:
                connection.execute(text("DELETE FROM sqlite_sequence"))
    finally:
        database.dispose()
    return url


@pytest.fixture(scope="session")
def private_cluster_of_session() -> Iterator[PrivatePostgres]:
    """A throw-away PostgreSQL cluster (never the machine's own); made on first use, deleted
    at the end of the session."""
    bindir = postgres_bindir()
    if bindir is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    with private_postgres(bindir) as server:
        yield server


@pytest.fixture
def private_cluster(private_cluster_of_session: PrivatePostgres) -> PrivatePostgres:
    """The private cluster, running: an outage test may stop it and start it again, and one
    that failed while it was stopped does not leave the next test without a server."""
    if not private_cluster_of_session.is_running():
        private_cluster_of_session.start()
    return private_cluster_of_session


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A throw-away Redis server of the test's own, which an outage test may stop and start."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    server = PrivateRedis(binary, free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The back end of this run of the test (pytest_generate_tests above)."""
    name: str = request.param
    return name


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    """The URL of an empty, migrated database of the current backend."""
    url: str = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_url")
    return _migrated_and_empty(url)


@pytest.fixture
def backend_redis_url(backend: str, request: pytest.FixtureRequest) -> str | None:
    """REDIS_URL for the current backend: set only on the `postgresql+redis` one."""
    if not backend.endswith("+redis"):
        return None
    url: str = request.getfixturevalue("redis_url")
    return url


@pytest.fixture
def anyio_backend() -> str:
    """Tests marked `anyio` run on asyncio, the service's event loop."""
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(database_url: str, backend_redis_url: str | None) -> Settings:
    return make_settings(database_url, REDIS_URL=backend_redis_url)


@pytest.fixture
def app(settings: Settings, clock: FakeClock) -> FastAPI:
    return create_app(settings, clock=clock)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(make_url(database_url))
    yield db
    db.dispose()


@pytest.fixture
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent
