"""How every PostgreSQL connection of the service is opened and kept, whichever driver opens
it: psycopg2 for the request and read pools (build_engine), psycopg 3 for the token check's
pool on the event loop (A_DatabasePackage.async_read_pool)."""

from __future__ import annotations

from typing import Any

POSTGRES_CONNECT_TIMEOUT_SECONDS = 5
POOL_TIMEOUT_SECONDS = 10  # the longest a request waits for a pooled connection
POOL_RECYCLE_SECONDS = 1800  # a connection older than this is replaced before use

# libpq parameters: give up connecting after the timeout; TCP keepalives notice a server that
# vanished without closing the connection.
POSTGRES_CONNECT_ARGS: dict[str, Any] = {
    "connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}
