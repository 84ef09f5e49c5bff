"""Readiness: can this process serve requests right now? (GET /readyz)

The database answers `SELECT 1`, and Redis (when REDIS_URL is set) answers PING, each within
READINESS_TIMEOUT_SECONDS. The checks run concurrently on worker threads, and an answer comes
within the timeout even when a check hangs (it is then reported unavailable).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import anyio
import redis

from A_DatabasePackage.database import Database
from I_ControllerPackage.blocking import run_blocking_within

READINESS_TIMEOUT_SECONDS = 2.0
OK = "ok"
UNAVAILABLE = "unavailable"

logger = logging.getLogger("auth_service.readiness")


@dataclass(frozen=True)
class ReadinessReport:
    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        return all(state == OK for state in self.checks.values())

    @property
    def failed(self) -> list[str]:
        return [name for name, state in self.checks.items() if state != OK]


async def _state_of(name: str, check: Callable[[], object], timeout: float) -> str:
    try:
        await run_blocking_within(timeout, check)
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
    checks: dict[str, Callable[[], object]] = {"database": database.ping}
    if redis_client is not None:
        checks["redis"] = redis_client.ping
    states: dict[str, str] = {}

    async def run(name: str, check: Callable[[], object]) -> None:
        states[name] = await _state_of(name, check, timeout)

    async with anyio.create_task_group() as group:
        for name, check in checks.items():
            group.start_soon(run, name, check)
    return ReadinessReport({name: states[name] for name in checks})
