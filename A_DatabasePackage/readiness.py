"""Readiness: can this process serve requests right now? (GET /readyz)

The database answers `SELECT 1`, and Redis (when REDIS_URL is set) answers PING, each within
READINESS_TIMEOUT_SECONDS. The checks run concurrently on a small thread pool of their own, so
a hung dependency never blocks the event loop nor takes the request threads, and an answer
comes within the timeout even when a check does not (it is then reported unavailable, and its
thread finishes in the background, bounded by the driver's own timeouts).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import redis
from sqlalchemy import text

from A_DatabasePackage.login_database_connection import Database

READINESS_TIMEOUT_SECONDS = 2.0
OK = "ok"
UNAVAILABLE = "unavailable"

logger = logging.getLogger("auth_service.readiness")
_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readiness")


@dataclass(frozen=True)
class ReadinessReport:
    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        return all(state == OK for state in self.checks.values())

    @property
    def failed(self) -> list[str]:
        return [name for name, state in self.checks.items() if state != OK]


def ping_database(database: Database) -> None:
    with database.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def ping_redis(client: redis.Redis) -> None:
    client.ping()


async def _run_check(name: str, check: Callable[[], None], timeout: float) -> str:
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(_executor, check), timeout)
    except TimeoutError:
        logger.warning("readiness check timed out", extra={"check": name})
        return UNAVAILABLE
    except Exception as error:  # any failure of a dependency means "not ready"
        logger.warning(
            "readiness check failed", extra={"check": name, "error": type(error).__name__}
        )
        return UNAVAILABLE
    return OK


async def check_readiness(
    database: Database,
    redis_client: redis.Redis | None,
    timeout: float = READINESS_TIMEOUT_SECONDS,
) -> ReadinessReport:
    checks: dict[str, Callable[[], None]] = {"database": lambda: ping_database(database)}
    if redis_client is not None:
        checks["redis"] = lambda: ping_redis(redis_client)
    states = await asyncio.gather(
        *(_run_check(name, check, timeout) for name, check in checks.items())
    )
    return ReadinessReport(dict(zip(checks, states, strict=True)))
